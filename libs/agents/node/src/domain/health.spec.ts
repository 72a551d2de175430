import { describe, expect, it } from '@jest/globals';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { AgentState, AgentStatusSchema, HealthState } from '@outpost/contracts';
import { evaluateHealth, ObservationTable, verdictChanged } from './health.js';

const STALE = 10_000;

function status(
  agent: string,
  state: AgentState,
  extra: { instanceId?: string; sequence?: number; reasons?: string[] } = {},
) {
  return create(AgentStatusSchema, {
    nodeId: 'n1',
    agent,
    state,
    instanceId: extra.instanceId ?? `${agent}-1`,
    sequence: extra.sequence ?? 1,
    reasons: extra.reasons ?? [],
  });
}

type Seen = [
  agent: string,
  state: AgentState,
  ageMs: number,
  extra?: { instanceId?: string; sequence?: number; reasons?: string[] },
];

function judge(required: string[], seen: Seen[], now = 100_000) {
  const table = new ObservationTable();
  for (const [agent, state, age, extra] of seen) table.record(status(agent, state, extra), now - age);
  return evaluateHealth(table, { required, staleAfterMs: STALE }, now);
}

describe('node health verdict', () => {
  it.each<[string, string[], Seen[], HealthState, RegExp[]]>([
    [
      'every required agent READY and fresh',
      ['node', 'update'],
      [
        ['node', AgentState.READY, 0],
        ['update', AgentState.READY, 9_000],
      ],
      HealthState.HEALTHY,
      [],
    ],
    [
      'a required agent never reported',
      ['node', 'update'],
      [['node', AgentState.READY, 0]],
      HealthState.UNHEALTHY,
      [/update: never reported/],
    ],
    [
      'a required agent is stale',
      ['node', 'update'],
      [
        ['node', AgentState.READY, 0],
        ['update', AgentState.READY, 10_001],
      ],
      HealthState.UNHEALTHY,
      [/update: no status for 10\.0s/],
    ],
    [
      'exactly at the stale timeout still counts as fresh',
      ['update'],
      [['update', AgentState.READY, 10_000]],
      HealthState.HEALTHY,
      [],
    ],
    [
      'a required agent is DEGRADED, with its reasons',
      ['update'],
      [['update', AgentState.DEGRADED, 0, { reasons: ['disk full'] }]],
      HealthState.UNHEALTHY,
      [/update: DEGRADED \(disk full\)/],
    ],
    [
      'a required agent is STARTING',
      ['update'],
      [['update', AgentState.STARTING, 0]],
      HealthState.UNHEALTHY,
      [/update: STARTING/],
    ],
    [
      'a required agent is STOPPING',
      ['update'],
      [['update', AgentState.STOPPING, 0]],
      HealthState.UNHEALTHY,
      [/update: STOPPING/],
    ],
    [
      'an optional agent that is down does not matter',
      ['node'],
      [
        ['node', AgentState.READY, 0],
        ['cluster', AgentState.DEGRADED, 0],
      ],
      HealthState.HEALTHY,
      [],
    ],
    ['no required agents at all', [], [], HealthState.HEALTHY, []],
    [
      'one READY instance of two is enough',
      ['update'],
      [
        ['update', AgentState.READY, 0, { instanceId: 'a' }],
        ['update', AgentState.STOPPING, 0, { instanceId: 'b' }],
      ],
      HealthState.HEALTHY,
      [],
    ],
    [
      'a READY instance that went stale does not count',
      ['update'],
      [
        ['update', AgentState.READY, 20_000, { instanceId: 'a' }],
        ['update', AgentState.STARTING, 0, { instanceId: 'b' }],
      ],
      HealthState.UNHEALTHY,
      [/update: STARTING/],
    ],
  ])('%s', (_case, required, seen, state, reasons) => {
    const verdict = judge(required, seen);
    expect(verdict.state).toBe(state);
    expect(verdict.reasons).toHaveLength(reasons.length);
    reasons.forEach((r, i) => expect(verdict.reasons[i]).toMatch(r));
  });

  it('lists every agent seen, required or not, sorted', () => {
    const verdict = judge(
      ['update'],
      [
        ['node', AgentState.READY, 0],
        ['cluster', AgentState.READY, 0],
      ],
    );
    expect(verdict.agents.map((a) => [a.agent, a.required, a.up])).toEqual([
      ['cluster', false, true],
      ['node', false, true],
      ['update', true, false],
    ]);
  });

  it('ignores a late publication that would roll an instance back', () => {
    const table = new ObservationTable();
    table.record(status('update', AgentState.READY, { sequence: 5 }), 1_000);
    table.record(status('update', AgentState.STARTING, { sequence: 4 }), 1_001);
    expect(evaluateHealth(table, { required: ['update'], staleAfterMs: STALE }, 1_002).state).toBe(
      HealthState.HEALTHY,
    );
  });

  it('forgets a stopped instance once its successor reports', () => {
    const table = new ObservationTable();
    table.record(status('update', AgentState.STOPPING, { instanceId: 'old' }), 1_000);
    table.record(status('update', AgentState.READY, { instanceId: 'new' }), 2_000);
    table.prune(2_000, STALE * 10);
    expect(table.instances('update').map((o) => o.status.instanceId)).toEqual(['new']);
  });

  it('keeps the only instance of an agent even when it is long silent', () => {
    const table = new ObservationTable();
    table.record(status('update', AgentState.READY), 0);
    table.prune(1_000_000, STALE * 10);
    expect(table.instances('update')).toHaveLength(1);
    expect(evaluateHealth(table, { required: ['update'], staleAfterMs: STALE }, 1_000_000).state).toBe(
      HealthState.UNHEALTHY,
    );
  });

  it('never counts a status seeded from KV as up, however recent its timestamp', () => {
    const table = new ObservationTable();
    table.record(status('update', AgentState.READY), 1_000, true);
    const verdict = evaluateHealth(table, { required: ['update'], staleAfterMs: STALE }, 1_000);
    expect(verdict.state).toBe(HealthState.UNHEALTHY);
    expect(verdict.reasons[0]).toMatch(
      /update: not heard from since the node agent started \(last said READY\)/,
    );
    table.record(status('update', AgentState.READY, { sequence: 2 }), 1_001);
    expect(evaluateHealth(table, { required: ['update'], staleAfterMs: STALE }, 1_002).state).toBe(
      HealthState.HEALTHY,
    );
  });

  it('drops an instance killed without a word once a successor started after its last status', () => {
    const table = new ObservationTable();
    const killed = create(AgentStatusSchema, {
      ...status('update', AgentState.READY, { instanceId: 'old' }),
      updatedAt: timestampFromMs(10_000),
    });
    const successor = create(AgentStatusSchema, {
      ...status('update', AgentState.DEGRADED, { instanceId: 'new', reasons: ['no slot'] }),
      startedAt: timestampFromMs(12_000),
    });
    table.record(killed, 1_000);
    table.record(successor, 1_500);
    const verdict = evaluateHealth(table, { required: ['update'], staleAfterMs: STALE }, 2_000);
    expect(verdict.state).toBe(HealthState.UNHEALTHY);
    expect(verdict.reasons).toEqual(['update: DEGRADED (no slot)']);
  });

  it('gives an agent with a slow status interval two of its own intervals', () => {
    const table = new ObservationTable();
    table.record(
      create(AgentStatusSchema, { ...status('update', AgentState.READY), statusIntervalMs: 20_000 }),
      0,
    );
    const policy = { required: ['update'], staleAfterMs: STALE };
    expect(evaluateHealth(table, policy, 39_000).state).toBe(HealthState.HEALTHY);
    expect(evaluateHealth(table, policy, 40_001).state).toBe(HealthState.UNHEALTHY);
  });

  it('reports a change only when something an operator cares about changes', () => {
    const a = judge(['update'], [['update', AgentState.READY, 20_000]], 100_000);
    const b = judge(['update'], [['update', AgentState.READY, 25_000]], 100_000);
    expect(verdictChanged(undefined, a)).toBe(true);
    expect(verdictChanged(a, b)).toBe(false);
    const c = judge(['update'], [['update', AgentState.READY, 0]], 100_000);
    expect(verdictChanged(b, c)).toBe(true);
  });
});
