import { describe, expect, it } from '@jest/globals';
import {
  applyHeartbeat,
  applyOrchestrator,
  desiredVersions,
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

describe('desired versions from rollouts', () => {
  const rollout = (version: string, createdAt: number, written: Record<string, boolean>) => ({
    id: version,
    version,
    selector: '',
    strategy: {
      canaryCount: 0,
      batches: [],
      successThresholdPercent: 100,
      groupBy: '',
      maxUnavailable: 0,
      nodeDeadlineMs: 1,
    },
    state: 'RUNNING' as const,
    batch: 0,
    batchCount: 1,
    reason: '',
    tolerated: {},
    createdAt,
    updatedAt: createdAt,
    targets: Object.entries(written).map(([nodeId, w]) => ({
      nodeId,
      batch: 0,
      phase: 'ASSIGNED' as const,
      group: '',
      written: w,
      detail: '',
    })),
  });

  it('takes the newest rollout whose write reached each node', () => {
    const got = desiredVersions([
      rollout('3.0', 30, { a: true, b: false }),
      rollout('2.0', 20, { a: true, b: true, c: true }),
    ]);
    expect(Object.fromEntries(got)).toEqual({ a: '3.0', b: '2.0', c: '2.0' });
  });
});
