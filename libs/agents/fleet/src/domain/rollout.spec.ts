import { describe, expect, it } from '@jest/globals';
import {
  allowedFailures,
  batchSizes,
  decide,
  DEFAULT_DEADLINE_MS,
  IllegalTransition,
  operate,
  planRollout,
  recordWrites,
  type InventoryNode,
  type Observation,
  type RolloutRecord,
  type Strategy,
} from './rollout.js';

const T0 = 1_000_000;
const strategy = (s: Partial<Strategy> = {}): Strategy => ({
  canaryCount: 1,
  batches: [{ count: 2 }],
  successThresholdPercent: 100,
  groupBy: '',
  maxUnavailable: 0,
  nodeDeadlineMs: DEFAULT_DEADLINE_MS,
  ...s,
});
const node = (nodeId: string, labels: Record<string, string> = {}): InventoryNode => ({ nodeId, labels });
const FLEET = [
  node('n1', { site: 'berlin' }),
  node('n2', { site: 'berlin' }),
  node('n3', { site: 'paris' }),
  node('n4', { site: 'paris', canary: 'true' }),
  node('n5', { site: 'paris' }),
];

function plan(s: Partial<Strategy> = {}, selector = '', inventory = FLEET): RolloutRecord {
  const p = planRollout('r1', '2.0.0', selector, strategy(s), inventory, T0);
  if (!p.ok) throw new Error(p.problem);
  return p.rollout;
}
const ok = (detail = 'committed'): Observation => ({ outcome: 'succeeded', detail });
const bad = (detail = 'rolled back'): Observation => ({ outcome: 'failed', detail });
const obs = (entries: Record<string, Observation>) => new Map(Object.entries(entries));
const phases = (r: RolloutRecord) => Object.fromEntries(r.targets.map((t) => [t.nodeId, t.phase]));

describe('planning a rollout', () => {
  it.each([
    [5, { canaryCount: 1, batches: [{ count: 2 }] }, [1, 2, 2]],
    [5, { canaryCount: 0, batches: [{ percent: 50 }] }, [3, 2]],
    [10, { canaryCount: 1, batches: [{ percent: 10 }, { percent: 50 }] }, [1, 1, 5, 3]],
    [2, { canaryCount: 1, batches: [{ count: 5 }] }, [1, 1]],
    [3, { canaryCount: 0, batches: [] }, [3]],
  ] as const)('%i nodes, %j: batches %j', (total, s, sizes) => {
    expect(batchSizes(total, strategy(s))).toEqual(sizes);
  });

  it('puts canary-labelled nodes first, then by node id; the group is the groupBy label', () => {
    const r = plan({ groupBy: 'site', maxUnavailable: 1 });
    expect(r.targets.map((t) => [t.nodeId, t.batch, t.group])).toEqual([
      ['n4', 0, 'paris'],
      ['n1', 1, 'berlin'],
      ['n2', 1, 'berlin'],
      ['n3', 2, 'paris'],
      ['n5', 2, 'paris'],
    ]);
  });

  it.each([
    ['site=rome', {}, 'matches no node'],
    ['site in (', {}, 'unbalanced'],
    ['', { successThresholdPercent: 0 }, 'successThresholdPercent'],
    ['', { batches: [{ count: 1, percent: 5 }] }, 'exactly one of count or percent'],
    ['', { batches: [{}] }, 'exactly one of count or percent'],
    ['', { batches: [{ percent: 120 }] }, 'is not 1..100'],
    ['', { groupBy: 'si te', maxUnavailable: 1 }, 'is not a label key'],
    ['', { groupBy: 'site' }, 'maxUnavailable'],
  ] as const)('refuses selector "%s" with %j (%s)', (selector, s, problem) => {
    const p = planRollout('r1', '2.0.0', selector, strategy(s), FLEET, T0);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.problem).toContain(problem);
  });
});

describe('decide', () => {
  it('assigns the canary first and asks for its desired update until the write is recorded', () => {
    const d = decide(plan(), obs({}), T0);
    expect(phases(d.next)).toMatchObject({ n4: 'ASSIGNED', n1: 'WAITING', n2: 'WAITING' });
    expect(d.effects).toEqual([{ kind: 'write-desired', nodeId: 'n4', group: '' }]);
    const written = recordWrites(d.next, new Set(['n4']), T0 + 1);
    const again = decide(written, obs({}), T0 + 2);
    expect(again.effects).toEqual([]);
    expect(again.changed).toBe(false);
  });

  it('advances batch by batch on success and completes', () => {
    let r = decide(plan(), obs({}), T0).next;
    r = decide(r, obs({ n4: ok() }), T0 + 10).next;
    expect(r.batch).toBe(1);
    expect(phases(r)).toMatchObject({ n4: 'SUCCEEDED', n1: 'ASSIGNED', n2: 'ASSIGNED', n3: 'WAITING' });
    r = decide(r, obs({ n4: ok(), n1: ok(), n2: ok() }), T0 + 20).next;
    expect(r.batch).toBe(2);
    const end = decide(r, obs({ n4: ok(), n1: ok(), n2: ok(), n3: ok(), n5: ok() }), T0 + 30);
    expect(end.next.state).toBe('COMPLETED');
    expect(end.effects).toEqual([]);
    expect(decide(end.next, obs({}), T0 + 40).changed).toBe(false);
  });

  it.each([
    // threshold, batch-1 outcomes, state after
    [100, { n1: bad() }, 'PAUSED'],
    [50, { n1: bad() }, 'RUNNING'],
    [50, { n1: bad(), n2: bad() }, 'PAUSED'],
    [100, { n1: ok() }, 'RUNNING'],
  ] as const)('threshold %i%%: batch 1 outcomes %j → %s', (threshold, outcomes, state) => {
    let r = decide(plan({ successThresholdPercent: threshold }), obs({}), T0).next;
    r = decide(r, obs({ n4: ok() }), T0 + 10).next;
    r = decide(r, obs({ n4: ok(), ...outcomes }), T0 + 20).next;
    expect(r.state).toBe(state);
    if (state === 'PAUSED') expect(r.reason).toMatch(/batch 1: \d of 2 nodes failed/);
  });

  it('pauses on a failed canary, assigns nothing while paused, goes on after a resume', () => {
    let r = decide(plan(), obs({}), T0).next;
    r = decide(r, obs({ n4: bad() }), T0 + 10).next;
    expect(r.state).toBe('PAUSED');
    const paused = decide(r, obs({ n4: bad() }), T0 + 20);
    expect(paused.changed).toBe(false);
    expect(phases(paused.next).n1).toBe('WAITING');
    r = operate(r, 'resume', T0 + 30);
    r = decide(r, obs({ n4: bad() }), T0 + 40).next;
    expect(r.state).toBe('RUNNING');
    expect(phases(r)).toMatchObject({ n1: 'ASSIGNED', n2: 'ASSIGNED' });
  });

  it('a failed node that is fixed later converges to SUCCEEDED', () => {
    let r = decide(plan(), obs({}), T0).next;
    r = decide(r, obs({ n4: bad() }), T0 + 10).next;
    r = decide(r, obs({ n4: ok() }), T0 + 20).next;
    expect(phases(r).n4).toBe('SUCCEEDED');
  });

  it('an offline node is not failed until its deadline; a late one converges', () => {
    let r = decide(
      plan({ nodeDeadlineMs: 1000, successThresholdPercent: 50, canaryCount: 0, batches: [] }),
      obs({}),
      T0,
    ).next;
    r = decide(r, obs({ n1: ok(), n2: ok(), n3: ok() }), T0 + 999).next;
    expect(phases(r)).toMatchObject({ n4: 'ASSIGNED', n5: 'ASSIGNED' });
    r = decide(r, obs({ n1: ok(), n2: ok(), n3: ok() }), T0 + 1000).next;
    expect(phases(r)).toMatchObject({ n4: 'TIMED_OUT', n5: 'TIMED_OUT' });
    expect(r.state).toBe('COMPLETED'); // 3 of 5 succeeded, threshold 50%
    r = decide(r, obs({ n4: ok() }), T0 + 5000).next;
    expect(phases(r).n4).toBe('SUCCEEDED');
  });

  it('keeps at most maxUnavailable nodes of one site assigned at once', () => {
    let r = decide(
      plan({ canaryCount: 0, batches: [], groupBy: 'site', maxUnavailable: 1 }),
      obs({}),
      T0,
    ).next;
    const assigned = () => r.targets.filter((t) => t.phase === 'ASSIGNED').map((t) => t.nodeId);
    expect(assigned()).toEqual(['n4', 'n1']); // one per site
    r = decide(r, obs({ n1: ok() }), T0 + 10).next;
    expect(assigned()).toEqual(['n4', 'n2']);
    r = decide(r, obs({ n1: ok(), n4: ok() }), T0 + 20).next;
    expect(assigned()).toEqual(['n2', 'n3']);
  });

  it('writes nothing once aborted, but still records outcomes', () => {
    let r = decide(plan(), obs({}), T0).next;
    r = operate(r, 'abort', T0 + 1);
    const d = decide(r, obs({ n4: ok() }), T0 + 2);
    expect(d.effects).toEqual([]);
    expect(phases(d.next).n4).toBe('SUCCEEDED');
    expect(d.next.state).toBe('ABORTED');
  });

  it.each([
    ['RUNNING', 'resume'],
    ['PAUSED', 'pause'],
    ['COMPLETED', 'abort'],
    ['ABORTED', 'resume'],
  ] as const)('refuses %s → %s', (state, action) => {
    expect(() => operate({ ...plan(), state }, action, T0)).toThrow(IllegalTransition);
  });

  it.each([
    [1, 100, 0],
    [2, 50, 1],
    [3, 50, 1],
    [10, 90, 1],
    [10, 1, 9],
  ])('%i nodes at %i%% may have %i failures', (size, threshold, allowed) => {
    expect(allowedFailures(size, threshold)).toBe(allowed);
  });
});
