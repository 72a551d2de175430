import { describe, expect, it } from '@jest/globals';
import {
  applyHeartbeat,
  applyOrchestrator,
  effectiveLabels,
  emptyRecord,
  isOnline,
  ORCH,
  outcomeFor,
  queryInventory,
  type InventoryRecord,
} from './inventory.js';
import { parseSelector } from './selector.js';

const sel = (text: string) => {
  const p = parseSelector(text);
  if (!p.ok) throw new Error(p.problem);
  return p.selector;
};
const rec = (nodeId: string, labels: Record<string, string>, overrides: Record<string, string> = {}) =>
  applyHeartbeat(emptyRecord(nodeId, overrides), { labels, health: 1 }, 100);

describe('inventory', () => {
  it.each([
    [{ site: 'berlin' }, {}, { site: 'berlin' }],
    [{ site: 'berlin' }, { site: 'paris' }, { site: 'paris' }],
    [{ site: 'berlin', tier: 'canary' }, { tier: '' }, { site: 'berlin' }],
    [{}, { rack: 'r1' }, { rack: 'r1' }],
  ])('node labels %j with hub overrides %j are %j', (labels, overrides, expected) => {
    expect(effectiveLabels(rec('n', labels, overrides))).toEqual(expected);
  });

  it.each([
    [ORCH.COMMITTED, '2.0', '2.0', { outcome: 'succeeded' }],
    [ORCH.ROLLED_BACK, '2.0', '2.0', { outcome: 'failed' }],
    [ORCH.FAILED, '2.0', '2.0', { outcome: 'failed' }],
    [ORCH.HALTED, '2.0', '2.0', { outcome: 'failed' }],
    [ORCH.ROLLED_BACK, '1.9', '2.0', undefined],
    [6, '2.0', '2.0', undefined], // VERIFYING
  ])('orchestrator state %i on %s says about %s: %j', (state, version, asked, expected) => {
    const r = applyOrchestrator(emptyRecord('n'), { state, version, detail: 'x' }, 5);
    const got = outcomeFor(r, asked);
    if (expected) expect(got).toMatchObject(expected);
    else expect(got).toBeUndefined();
  });

  it('keeps the running version across a later failure of another version', () => {
    let r = applyOrchestrator(emptyRecord('n'), { state: ORCH.COMMITTED, version: '2.0', detail: '' }, 1);
    r = applyOrchestrator(r, { state: ORCH.ROLLED_BACK, version: '3.0', detail: 'trial failed' }, 2);
    expect(r.runningVersion).toBe('2.0');
    expect(outcomeFor(r, '2.0')?.outcome).toBe('succeeded');
    expect(outcomeFor(r, '3.0')).toEqual({ outcome: 'failed', detail: 'trial failed' });
  });

  it.each([
    [100, true],
    [1100, true],
    [1101, false],
  ])('last seen 100, now %i, stale after 1000: online %s', (now, online) => {
    expect(isOnline(rec('n', {}), now, 1000)).toBe(online);
  });

  it('a node never seen is offline', () => {
    expect(isOnline(emptyRecord('n'), 0, 1000)).toBe(false);
  });

  const fleet: InventoryRecord[] = ['e', 'a', 'd', 'c', 'b'].map((id, i) =>
    rec(id, { site: i % 2 ? 'berlin' : 'paris' }),
  );

  it.each([
    ['', 2, '', ['a', 'b'], 'b', 5],
    ['', 2, 'b', ['c', 'd'], 'd', 5],
    ['', 2, 'd', ['e'], '', 5],
    ['site=paris', 10, '', ['b', 'd', 'e'], '', 3],
    ['site=paris', 2, '', ['b', 'd'], 'd', 3],
    ['site=rome', 10, '', [], '', 0],
    ['', 10, 'zz', [], '', 5],
  ])(
    'selector "%s", limit %i after "%s": %j, next "%s", total %i',
    (text, limit, after, ids, next, total) => {
      const page = queryInventory(fleet, sel(text), limit, after);
      expect(page.records.map((r) => r.nodeId)).toEqual(ids);
      expect(page.nextPageToken).toBe(next);
      expect(page.total).toBe(total);
    },
  );
});
