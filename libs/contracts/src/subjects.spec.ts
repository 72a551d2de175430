import { describe, expect, it } from '@jest/globals';
import { NodeApi } from './apis/node.api.js';
import { catalogEntry } from './registry.js';
import { ContractError } from './errors.js';
import { cmdSubject, parseSubject, statusSubject, wildcards } from './subjects.js';
import { EVENT_STREAM_SUBJECTS, kvKeys } from './storage.js';

describe('subject catalog', () => {
  it('builds the documented scheme', () => {
    expect(NodeApi.cmd.describe.subject('n1')).toBe('edge.n1.node.cmd.describe');
    expect(NodeApi.evt.heartbeat.subject('n1')).toBe('edge.n1.node.evt.heartbeat');
    expect(statusSubject('n1', 'update')).toBe('edge.n1.update.status');
    expect(wildcards.statuses('n1')).toBe('edge.n1.*.status');
    expect(kvKeys.status('n1', 'node')).toBe('n1.node');
    expect(kvKeys.nodeHealth('n1')).toBe('n1.node.health');
  });

  it.each(['a.b', '*', '>', 'has space', '', 'x'.repeat(65)])('refuses node id %p', (nodeId) => {
    expect(() => cmdSubject(nodeId, 'node', 'describe')).toThrow(ContractError);
  });

  it('maps Nest patterns back to catalog entries', () => {
    expect(catalogEntry('node.cmd.describe')).toBe(NodeApi.cmd.describe);
    expect(catalogEntry('node.cmd.nope')).toBeUndefined();
  });

  it('parses concrete subjects', () => {
    expect(parseSubject('edge.n1.node.cmd.describe')).toEqual({
      nodeId: 'n1',
      agent: 'node',
      kind: 'cmd',
      name: 'describe',
    });
    expect(parseSubject('edge.n1.node.status')).toEqual({ nodeId: 'n1', agent: 'node', kind: 'status' });
    expect(parseSubject('other.n1.node.status')).toBeUndefined();
  });

  it('keeps command subjects out of the event stream', () => {
    for (const filter of EVENT_STREAM_SUBJECTS) {
      expect(filter.split('.')[3]).toBe('evt');
    }
  });
});
