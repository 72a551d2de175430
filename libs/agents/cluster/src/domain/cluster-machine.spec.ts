/** The transition table: every legal transition, and every other (from, transition) pair rejected. */
import { describe, expect, it } from '@jest/globals';
import { ClusterState } from '@outpost/contracts';
import {
  applyTransition,
  IllegalTransitionError,
  initialMachine,
  isLegal,
  TRANSITIONS,
  type ClusterMachine,
  type TransitionInput,
  type TransitionName,
} from './cluster-machine.js';
import type { ClusterSpec } from './cluster-spec.js';

const { INACTIVE, INSTALLING, ACTIVE, UNINSTALLING, ERROR } = ClusterState;
const ALL = [INACTIVE, INSTALLING, ACTIVE, UNINSTALLING, ERROR];
const spec: ClusterSpec = { distribution: 'k3s', role: 'server', joinUrl: '', tokenRef: '' };

function input(name: TransitionName): TransitionInput {
  if (name === 'install' || name === 'uninstall') return { name, spec };
  if (name === 'installFailed' || name === 'uninstallFailed') return { name, error: 'boom', retryAt: 5_000 };
  return { name };
}
const machineIn = (state: ClusterState, extra: Partial<ClusterMachine> = {}): ClusterMachine => ({
  ...initialMachine(0),
  state,
  target: spec,
  installed: spec,
  ...extra,
});

const LEGAL: [TransitionName, ClusterState, ClusterState][] = [
  ['install', INACTIVE, INSTALLING],
  ['install', ACTIVE, INSTALLING],
  ['install', ERROR, INSTALLING],
  ['installSucceeded', INSTALLING, ACTIVE],
  ['installFailed', INSTALLING, ERROR],
  ['uninstall', ACTIVE, UNINSTALLING],
  ['uninstall', ERROR, UNINSTALLING],
  ['uninstallSucceeded', UNINSTALLING, INACTIVE],
  ['uninstallFailed', UNINSTALLING, ERROR],
];

describe('cluster transition table', () => {
  it.each(LEGAL)('%s: %s -> %s is legal', (name, from, to) => {
    const next = applyTransition(machineIn(from, { sequence: 7 }), input(name), 1_000);
    expect(next.state).toBe(to);
    expect(next.sequence).toBe(8);
    expect(next.since).toBe(1_000);
    expect(isLegal(from, to)).toBe(true);
  });

  const illegal = (Object.keys(TRANSITIONS) as TransitionName[]).flatMap((name) =>
    ALL.filter((from) => !LEGAL.some(([n, f]) => n === name && f === from)).map(
      (from) => [name, from] as [TransitionName, ClusterState],
    ),
  );

  it('lists every legal transition of the table in this test', () => {
    expect(LEGAL).toHaveLength(Object.values(TRANSITIONS).reduce((n, t) => n + t.from.length, 0));
    expect(illegal).toHaveLength(ALL.length * Object.keys(TRANSITIONS).length - LEGAL.length);
  });

  it.each(illegal)('%s from %s is rejected', (name, from) => {
    const m = machineIn(from);
    expect(() => applyTransition(m, input(name), 1_000)).toThrow(IllegalTransitionError);
    expect(() => applyTransition(m, input(name), 1_000)).toThrow(new RegExp(`from ${ClusterState[from]}`));
  });

  it.each([
    [INACTIVE, ACTIVE],
    [INACTIVE, UNINSTALLING],
    [INACTIVE, ERROR],
    [ACTIVE, INACTIVE],
    [ACTIVE, ERROR],
    [INSTALLING, UNINSTALLING],
    [INSTALLING, INACTIVE],
    [UNINSTALLING, ACTIVE],
    [UNINSTALLING, INSTALLING],
    [ERROR, ACTIVE],
    [ERROR, INACTIVE],
  ])('no transition leads from %s to %s', (from, to) => {
    expect(isLegal(from, to)).toBe(false);
  });

  it('counts failures, keeps the reason and the retry time, and resets on success', () => {
    let m = applyTransition(initialMachine(0), { name: 'install', spec }, 1);
    m = applyTransition(m, { name: 'installFailed', error: 'no network', retryAt: 100 }, 2);
    expect(m).toMatchObject({
      state: ERROR,
      attempts: 1,
      lastError: 'no network',
      nextRetryAt: 100,
      failed: 'install',
    });
    m = applyTransition(m, { name: 'install', spec }, 3);
    expect(m.nextRetryAt).toBeUndefined();
    m = applyTransition(m, { name: 'installFailed', error: 'still no network', retryAt: 200 }, 4);
    expect(m.attempts).toBe(2);
    m = applyTransition(applyTransition(m, { name: 'install', spec }, 5), { name: 'installSucceeded' }, 6);
    expect(m).toMatchObject({ state: ACTIVE, attempts: 0, lastError: 'still no network', installed: spec });
  });

  it('forgets what was installed only when an uninstall succeeds', () => {
    let m = applyTransition(machineIn(ACTIVE), { name: 'uninstall', spec }, 1);
    m = applyTransition(m, { name: 'uninstallFailed', error: 'busy', retryAt: 9 }, 2);
    expect(m.installed).toEqual(spec);
    m = applyTransition(
      applyTransition(m, { name: 'uninstall', spec }, 3),
      { name: 'uninstallSucceeded' },
      4,
    );
    expect(m.state).toBe(INACTIVE);
    expect(m.installed).toBeUndefined();
  });
});
