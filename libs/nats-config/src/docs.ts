/**
 * The permission table as Markdown, for docs/security.md: the section between the markers is rendered
 * from AGENT_PERMISSIONS (tools/scripts/security-doc.mjs writes it; a test fails when it drifts).
 */
import { AGENT_PERMISSIONS, type AgentId } from '@outpost/contracts';
import type { PermissionTable } from './users.js';

export const DOC_BEGIN =
  '<!-- permissions:begin: rendered from AGENT_PERMISSIONS by tools/scripts/security-doc.mjs; do not edit -->';
export const DOC_END = '<!-- permissions:end -->';

const code = (s: string) => `\`${s}\``;
const none = '—';

export function renderPermissionsTable(table: PermissionTable = AGENT_PERMISSIONS): string {
  const rows = (Object.entries(table) as [AgentId, NonNullable<PermissionTable[AgentId]>][]).map(
    ([agent, g]) => {
      const calls = g.calls.map(code).join(', ') || none;
      const listens = g.listens.map(code).join(', ') || none;
      const kv =
        [
          ...g.kv.map(
            (k) =>
              `${code(k.bucket)}${k.domain ? ` (domain ${k.domain})` : ''} ${code(k.key.replaceAll('{node}', '<node>'))} ${k.access.join(', ')}`,
          ),
          ...(g.streams ?? []).map(
            (st) =>
              `stream ${code(st.stream)} on ${code(st.subject.replaceAll('{node}', '<node>'))} (provisioned; publish, read, delete)`,
          ),
        ].join('<br>') || none;
      return `| ${code(agent)} | ${calls} | ${listens} | ${kv} |`;
    },
  );
  return [
    '| Agent (NATS user) | Requests `edge.<node>.…` | Subscribes to `edge.<node>.…` | KV beyond its own status key, own streams |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The document with its marked section replaced by the rendered table; throws if the markers are missing. */
export function withPermissionsTable(doc: string, table: PermissionTable = AGENT_PERMISSIONS): string {
  const begin = doc.indexOf(DOC_BEGIN);
  const end = doc.indexOf(DOC_END);
  if (begin < 0 || end < begin) throw new Error(`the document has no ${DOC_BEGIN} ... ${DOC_END} section`);
  return `${doc.slice(0, begin)}${DOC_BEGIN}\n\n${renderPermissionsTable(table)}\n\n${doc.slice(end)}`;
}

/** Markdown tables compared cell by cell: the padding a formatter adds does not count. */
export function normalizeMarkdown(text: string): string {
  return text
    .split('\n')
    .map((line) => (line.startsWith('|') ? line.replace(/ *\| */g, '|').replace(/-{3,}/g, '---') : line))
    .join('\n');
}
