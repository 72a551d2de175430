/**
 * Label selectors in the Kubernetes syntax: requirements separated by commas, all of which must hold.
 *   k=v  k==v  k!=v  k in (a,b)  k notin (a,b)  k (exists)  !k (does not exist)
 * `k!=v` and `k notin (...)` also hold for a node without the label, as in Kubernetes.
 * Keys are 1-63 of A-Za-z0-9 and `._-/`; values 0-63 of A-Za-z0-9 and `._-` (empty only for = and !=).
 */
export type Requirement =
  { key: string; op: 'in' | 'notin'; values: readonly string[] } | { key: string; op: 'exists' | 'absent' };

export type Selector = readonly Requirement[];

export type Parsed = { ok: true; selector: Selector } | { ok: false; problem: string };

const KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;
const SET = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/;
const EQ = /^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/;

/** Splits on commas outside parentheses; undefined when the parentheses do not balance. */
function clauses(text: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth < 0) return undefined;
    else if (text[i] === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (depth !== 0) return undefined;
  out.push(text.slice(start).trim());
  return out;
}

export function isLabelKey(key: string): boolean {
  return KEY.test(key);
}

function checkKey(key: string, clause: string): string | undefined {
  return KEY.test(key) ? undefined : `"${clause}": "${key}" is not a label key`;
}

function requirement(clause: string): Requirement | string {
  const set = SET.exec(clause);
  if (set) {
    const values = set[3].split(',').map((v) => v.trim());
    const bad = values.find((v) => !v || !VALUE.test(v));
    if (bad !== undefined) return `"${clause}": "${bad}" is not a label value`;
    return checkKey(set[1], clause) ?? { key: set[1], op: set[2] as 'in' | 'notin', values };
  }
  const eq = EQ.exec(clause);
  if (eq) {
    const value = eq[3].trim();
    if (!VALUE.test(value)) return `"${clause}": "${value}" is not a label value`;
    return checkKey(eq[1], clause) ?? { key: eq[1], op: eq[2] === '!=' ? 'notin' : 'in', values: [value] };
  }
  if (clause.startsWith('!')) {
    const key = clause.slice(1).trim();
    return checkKey(key, clause) ?? { key, op: 'absent' };
  }
  return checkKey(clause, clause) ?? { key: clause, op: 'exists' };
}

export function parseSelector(text: string): Parsed {
  const trimmed = text.trim();
  if (!trimmed) return { ok: true, selector: [] };
  const parts = clauses(trimmed);
  if (!parts) return { ok: false, problem: `selector "${text}": unbalanced parentheses` };
  const selector: Requirement[] = [];
  for (const part of parts) {
    if (!part) return { ok: false, problem: `selector "${text}": empty requirement` };
    const r = requirement(part);
    if (typeof r === 'string') return { ok: false, problem: `selector ${r}` };
    selector.push(r);
  }
  return { ok: true, selector };
}

export function matches(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'absent':
        return !has;
      case 'in':
        return has && r.values.includes(labels[r.key]);
      case 'notin':
        return !has || !r.values.includes(labels[r.key]);
    }
  });
}
