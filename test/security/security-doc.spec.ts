/** docs/security.md shows the permission table as AGENT_PERMISSIONS has it (tools/scripts/security-doc.mjs). */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AGENT_PERMISSIONS } from '@outpost/contracts';
import { normalizeMarkdown, withPermissionsTable } from '@outpost/nats-config';

const doc = readFileSync(
  join(resolve(new URL('../..', import.meta.url).pathname), 'docs', 'security.md'),
  'utf8',
);

describe('docs/security.md', () => {
  it('has the permission table rendered from AGENT_PERMISSIONS (run node tools/scripts/security-doc.mjs)', () => {
    expect(normalizeMarkdown(doc)).toBe(normalizeMarkdown(withPermissionsTable(doc)));
  });

  it('would notice a change of the table', () => {
    const changed = { ...AGENT_PERMISSIONS, hardware: { calls: [], listens: [], kv: [] } };
    expect(normalizeMarkdown(withPermissionsTable(doc, changed))).not.toBe(normalizeMarkdown(doc));
  });
});
