/**
 * The node's labels from its `labels` setting: `key=value` items, the key a label key (1-63 of
 * A-Za-z0-9 and `._-/`), the value 0-63 of A-Za-z0-9 and `._-`, each key once. Checked at start so a
 * bad label stops the agent with a message instead of reaching the fleet inventory.
 */
const KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

export type LabelsParsed = { ok: true; labels: Record<string, string> } | { ok: false; problem: string };

export function parseLabels(items: readonly string[]): LabelsParsed {
  const labels: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? '' : item.slice(eq + 1);
    if (eq < 0) return { ok: false, problem: `label "${item}" is not key=value` };
    if (!KEY.test(key)) return { ok: false, problem: `label "${item}": "${key}" is not a label key` };
    if (!VALUE.test(value)) return { ok: false, problem: `label "${item}": "${value}" is not a label value` };
    if (Object.hasOwn(labels, key)) return { ok: false, problem: `label "${key}" is given twice` };
    labels[key] = value;
  }
  return { ok: true, labels };
}
