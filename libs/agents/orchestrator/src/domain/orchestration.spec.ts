/** The orchestration transition table, the run rule, the health-trial verdict and the test clock. */
import { describe, expect, it } from '@jest/globals';
import { ShiftedClock, systemClock, TestClock } from './clock.js';
import { afterRollback, judgeTrial, type CheckResult, type CheckSpec } from './health-trial.js';
import {
  canTransition,
  IllegalTransition,
  shouldStartRun,
  STATES,
  transition,
  TRANSITIONS,
  type State,
} from './orchestration-state.js';

describe('transition table', () => {
  const allowed: [State, State][] = [
    ['IDLE', 'DOWNLOADING'],
    ['DOWNLOADING', 'WAITING_WINDOW'],
    ['DOWNLOADING', 'FAILED'],
    ['WAITING_WINDOW', 'INSTALLING'],
    ['INSTALLING', 'REBOOTING'],
    ['REBOOTING', 'VERIFYING'],
    ['REBOOTING', 'ROLLED_BACK'],
    ['VERIFYING', 'COMMITTED'],
    ['VERIFYING', 'ROLLING_BACK'],
    ['ROLLING_BACK', 'ROLLED_BACK'],
    ['ROLLING_BACK', 'HALTED'],
    ['ROLLED_BACK', 'DOWNLOADING'],
    ['HALTED', 'DOWNLOADING'],
  ];
  const refused: [State, State][] = [
    ['IDLE', 'INSTALLING'],
    ['DOWNLOADING', 'INSTALLING'],
    ['WAITING_WINDOW', 'REBOOTING'],
    ['INSTALLING', 'IDLE'],
    ['VERIFYING', 'ROLLED_BACK'],
    ['ROLLING_BACK', 'ROLLING_BACK'],
    ['ROLLING_BACK', 'VERIFYING'],
    ['COMMITTED', 'VERIFYING'],
    ['HALTED', 'INSTALLING'],
    ['ROLLED_BACK', 'ROLLING_BACK'],
  ];
  it.each(allowed)('%s -> %s is allowed', (from, to) => {
    expect(transition(from, to)).toBe(to);
  });
  it.each(refused)('%s -> %s is refused', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => transition(from, to)).toThrow(IllegalTransition);
  });
  it('only one automatic fallback: nothing leads from ROLLING_BACK to another reboot', () => {
    expect(TRANSITIONS.ROLLING_BACK).toEqual(['ROLLED_BACK', 'HALTED']);
  });
  it.each(STATES)('%s has an entry and every target is a state', (s) => {
    for (const to of TRANSITIONS[s]) expect(STATES).toContain(to);
  });
});

describe('shouldStartRun', () => {
  it.each([
    ['nothing ran yet', { version: '1', retry: 0 }, undefined, true],
    [
      'same version and retry (e.g. rolled back): not retried',
      { version: '1', retry: 0 },
      { version: '1', retry: 0 },
      false,
    ],
    ['retry bumped', { version: '1', retry: 1 }, { version: '1', retry: 0 }, true],
    ['another version', { version: '2', retry: 0 }, { version: '1', retry: 0 }, true],
  ])('%s', (_n, desired, current, expected) => {
    expect(shouldStartRun(desired, current)).toBe(expected);
  });
});

describe('judgeTrial', () => {
  const check = (name: string, over: Partial<CheckSpec> = {}): CheckSpec => ({
    name,
    command: ['true'],
    required: true,
    timeoutSeconds: 5,
    offNode: false,
    ...over,
  });
  const checks = [check('disk'), check('app', { required: false }), check('cloud', { offNode: true })];
  const ok = (name: string): CheckResult => ({ name, outcome: 'pass' });
  const bad = (name: string, outcome: 'fail' | 'timeout' = 'fail'): CheckResult => ({ name, outcome });
  it.each<[string, boolean | undefined, CheckResult[], number, string, RegExp | undefined]>([
    ['all pass', true, [ok('disk'), ok('app'), ok('cloud')], 1000, 'pass', undefined],
    [
      'a wanted check fails: still pass',
      true,
      [ok('disk'), bad('app'), ok('cloud')],
      1000,
      'pass',
      /app failed/,
    ],
    [
      'an off-node required check fails: not a device failure',
      true,
      [ok('disk'), ok('app'), bad('cloud')],
      1000,
      'pass',
      /off-node/,
    ],
    [
      'a required check fails before the deadline: pending',
      true,
      [bad('disk'), ok('app')],
      1000,
      'pending',
      /disk failed/,
    ],
    [
      'a required check times out at the deadline: fail',
      true,
      [bad('disk', 'timeout')],
      60_000,
      'fail',
      /timed out after 5 s/,
    ],
    ['node unhealthy before the deadline: pending', false, [ok('disk')], 1000, 'pending', /UNHEALTHY/],
    ['node unhealthy at the deadline: fail', false, [ok('disk')], 60_000, 'fail', /deadline of 60 s/],
    ['node agent silent at the deadline: fail', undefined, [ok('disk')], 60_000, 'fail', /did not answer/],
    ['a required check never ran: pending', true, [], 1000, 'pending', /not run/],
  ])('%s', (_n, healthy, results, elapsed, verdict, text) => {
    const v = judgeTrial({
      elapsedMs: elapsed,
      deadlineMs: 60_000,
      nodeHealthy: healthy,
      nodeReasons: ['hardware missing'],
      checks,
      results,
    });
    expect(v.verdict).toBe(verdict);
    const lines = v.verdict === 'pass' ? v.warnings : v.reasons;
    if (text) expect(lines.join('\n')).toMatch(text);
    else expect(lines).toEqual([]);
  });
  it('counts an off-node failure when the policy says so', () => {
    const v = judgeTrial({
      elapsedMs: 60_000,
      deadlineMs: 60_000,
      nodeHealthy: true,
      nodeReasons: [],
      checks,
      results: [ok('disk'), bad('cloud')],
      offNodeCounts: true,
    });
    expect(v.verdict).toBe('fail');
  });
  it.each([
    [true, 'ROLLED_BACK'],
    [false, 'HALTED'],
  ])('old slot healthy=%p after rollback -> %s', (healthy, state) => {
    expect(afterRollback(healthy)).toBe(state);
  });
});

describe('TestClock', () => {
  it('wakes a sleeper exactly when its instant passes, and not before', async () => {
    const clock = new TestClock(1_000);
    let woke = false;
    const sleeping = clock.sleepUntil(5_000).then((ok) => (woke = ok));
    clock.advance(3_999);
    await Promise.resolve();
    expect(woke).toBe(false);
    clock.advance(1);
    await sleeping;
    expect(woke).toBe(true);
    expect(clock.monotonic()).toBe(4_000);
  });
  it('a cancelled sleep resolves false', async () => {
    const clock = new TestClock(0);
    const abort = new AbortController();
    const sleeping = clock.sleepUntil(10, abort.signal);
    abort.abort();
    expect(await sleeping).toBe(false);
    expect(clock.pending()).toBe(0);
  });
});

describe('systemClock.sleepUntil', () => {
  it('wakes at or after the instant, never before', async () => {
    const instant = Date.now() + 30;
    expect(await systemClock.sleepUntil(instant)).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(instant);
  });
  it('is cancelled by its signal', async () => {
    const abort = new AbortController();
    const sleeping = systemClock.sleepUntil(Date.now() + 3_600_000, abort.signal);
    abort.abort();
    expect(await sleeping).toBe(false);
  });
});

describe('ShiftedClock', () => {
  it('runs with the system clock until shifted, then by the offset', () => {
    const clock = new ShiftedClock();
    const before = Date.now();
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    clock.shift(3_600_000);
    expect(clock.now()).toBeGreaterThanOrEqual(before + 3_600_000);
  });
  it('wakes a sleeper an hour away when a shift passes its instant, not on a shift short of it', async () => {
    const clock = new ShiftedClock();
    const instant = clock.now() + 3_600_000;
    let woke: boolean | undefined;
    const sleeping = clock.sleepUntil(instant).then((ok) => (woke = ok));
    clock.shift(1_800_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(woke).toBeUndefined();
    clock.shift(1_800_000);
    expect(await sleeping).toBe(true);
    expect(clock.now()).toBeGreaterThanOrEqual(instant);
  });
  it('a cancelled sleep resolves false and a later shift finds no sleeper', async () => {
    const clock = new ShiftedClock();
    const abort = new AbortController();
    const sleeping = clock.sleepUntil(clock.now() + 3_600_000, abort.signal);
    abort.abort();
    expect(await sleeping).toBe(false);
    expect(() => clock.shift(7_200_000)).not.toThrow();
  });
});
