import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { AGENT_IDS, type AgentId } from './agents.js';
import { AGENT_PERMISSIONS, ALL_STATUSES, inboxPrefixOf, natsUserOf } from './permissions.js';
import { CATALOG, catalogEntry } from './registry.js';
import { assertToken } from './subjects.js';

const rows = Object.entries(AGENT_PERMISSIONS) as [AgentId, (typeof AGENT_PERMISSIONS)[AgentId]][];

describe('AGENT_PERMISSIONS', () => {
  it('has a row for every agent id', () => {
    expect(Object.keys(AGENT_PERMISSIONS).sort()).toEqual([...AGENT_IDS].sort());
  });

  it.each(rows)("%s names only other agents' catalog entries of the right kind", (agent, row) => {
    for (const call of row.calls) {
      expect(call.startsWith(`${agent}.`)).toBe(false);
      if (CATALOG[call.split('.')[0] as AgentId]) expect(catalogEntry(call)?.kind).toBe('cmd');
    }
    for (const listen of row.listens) {
      if (listen === ALL_STATUSES) continue;
      expect(listen.startsWith(`${agent}.`)).toBe(false);
      if (CATALOG[listen.split('.')[0] as AgentId]) expect(catalogEntry(listen)?.kind).toBe('evt');
    }
  });

  it.each(rows)('%s has KV key templates made of valid tokens and wildcards', (_agent, row) => {
    for (const grant of row.kv) {
      expect(grant.access.length).toBeGreaterThan(0);
      for (const token of grant.key.replaceAll('{node}', 'n1').split('.')) {
        if (token !== '*' && token !== '>') expect(assertToken('key part', token)).toBe(token);
      }
    }
  });

  it('keeps the generator marker on its own line just before the closing brace of the table', () => {
    const text = readFileSync(new URL('./permissions.ts', import.meta.url), 'utf8');
    const table = text.slice(text.indexOf('export const AGENT_PERMISSIONS'));
    expect(table).toMatch(/\n {2}\/\/ @outpost-generator:permissions\n\};\n/);
  });

  it("names a process's NATS user and its inbox", () => {
    expect(natsUserOf(['node'])).toBe('node');
    expect(natsUserOf(['node', 'update'])).toBe('edge-node');
    expect(inboxPrefixOf('node')).toBe('_INBOX.node');
  });
});
