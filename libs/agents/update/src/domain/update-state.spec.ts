/** The transition table, the start counter and the OEP status names, table-driven. */
import { describe, expect, it } from '@jest/globals';
import { enter, initialRecord, atStep } from './update-record.js';
import {
  canStartUpdate,
  canTransition,
  checkTransition,
  IllegalTransitionError,
  isRestartLoop,
  OEP_STATUS,
  STATES,
  type StateName,
} from './update-state.js';

const legal: [StateName, StateName][] = [
  ['IDLE', 'DOWNLOADING'],
  ['DOWNLOADING', 'DOWNLOADED'],
  ['DOWNLOADING', 'FAILED'],
  ['DOWNLOADED', 'INSTALLING'],
  ['DOWNLOADED', 'DOWNLOADING'],
  ['INSTALLING', 'INSTALLED'],
  ['INSTALLED', 'REBOOTING'],
  ['REBOOTING', 'VERIFYING'],
  ['REBOOTING', 'ROLLED_BACK'],
  ['REBOOTING', 'INSTALLED'],
  ['VERIFYING', 'COMMITTED'],
  ['VERIFYING', 'ROLLED_BACK'],
  ['COMMITTED', 'DOWNLOADING'],
  ['ROLLED_BACK', 'DOWNLOADING'],
  ['FAILED', 'DOWNLOADING'],
  ['FAILED', 'FAILED'],
];

const illegal: [StateName, StateName][] = [
  ['IDLE', 'INSTALLING'],
  ['IDLE', 'COMMITTED'],
  ['DOWNLOADING', 'INSTALLING'],
  ['DOWNLOADING', 'DOWNLOADING'],
  ['DOWNLOADED', 'REBOOTING'],
  ['INSTALLING', 'REBOOTING'],
  ['INSTALLING', 'DOWNLOADING'],
  ['INSTALLED', 'VERIFYING'],
  ['INSTALLED', 'DOWNLOADING'],
  ['REBOOTING', 'COMMITTED'],
  ['VERIFYING', 'DOWNLOADING'],
  ['VERIFYING', 'INSTALLED'],
  ['COMMITTED', 'ROLLED_BACK'],
  ['COMMITTED', 'VERIFYING'],
  ['ROLLED_BACK', 'COMMITTED'],
  ['FAILED', 'INSTALLING'],
  ['FAILED', 'IDLE'],
];

describe('update state machine', () => {
  it.each(legal)('allows %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => checkTransition(from, to)).not.toThrow();
  });

  it.each(illegal)('rejects %s -> %s, naming what is allowed', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => checkTransition(from, to)).toThrow(IllegalTransitionError);
    expect(() => checkTransition(from, to)).toThrow(new RegExp(`${from} -> ${to}`));
  });

  it('never goes back to IDLE, and every state can fail', () => {
    for (const s of STATES) {
      expect(canTransition(s, 'IDLE')).toBe(false);
      expect(canTransition(s, 'FAILED')).toBe(true);
    }
  });

  it.each([
    ['IDLE', true],
    ['DOWNLOADED', true],
    ['COMMITTED', true],
    ['ROLLED_BACK', true],
    ['FAILED', true],
    ['DOWNLOADING', false],
    ['INSTALLING', false],
    ['INSTALLED', false],
    ['REBOOTING', false],
    ['VERIFYING', false],
  ] as [StateName, boolean][])('a new update may start from %s: %s', (state, ok) => {
    expect(canStartUpdate(state)).toBe(ok);
  });

  it.each([
    ['IDLE', 'UP_TO_DATE'],
    ['DOWNLOADING', 'DOWNLOADING'],
    ['DOWNLOADED', 'DOWNLOADED'],
    ['INSTALLING', 'STARTED'],
    ['INSTALLED', 'STARTED'],
    ['REBOOTING', 'STARTED'],
    ['VERIFYING', 'STARTED'],
    ['COMMITTED', 'UPDATED'],
    ['ROLLED_BACK', 'FAILED'],
    ['FAILED', 'FAILED'],
  ] as [StateName, string][])('%s reads as OEP %s', (state, oep) => {
    expect(OEP_STATUS[state]).toBe(oep);
  });

  it.each([
    [1, 5, false],
    [5, 5, false],
    [6, 5, true],
  ])('start %i of at most %i is a restart loop: %s', (starts, max, loop) => {
    expect(isRestartLoop(starts, max)).toBe(loop);
  });
});

describe('update record', () => {
  const t0 = new Date('2025-01-01T00:00:00Z');
  const t1 = new Date('2025-01-01T00:01:00Z');

  it('enters a state with a fresh step and start counter, keeping the update it is about', () => {
    const downloading = { ...enter(initialRecord(t0), 'DOWNLOADING', t0, { targetSlot: 'b' }), starts: 3 };
    const done = enter(downloading, 'DOWNLOADED', t1);
    expect(done).toMatchObject({ state: 'DOWNLOADED', targetSlot: 'b', starts: 0, since: t1.toISOString() });
    expect(done.step).toBeUndefined();
  });

  it('keeps a reason only on FAILED and ROLLED_BACK', () => {
    const failed = enter(initialRecord(t0), 'FAILED', t1, { reason: 'signature', detail: 'bad' });
    expect(failed).toMatchObject({ reason: 'signature', detail: 'bad' });
    expect(enter(failed, 'DOWNLOADING', t1, { reason: 'download' }).reason).toBeUndefined();
  });

  it('keeps the start counter across steps, so a loop that restarts the install still trips', () => {
    const installing = {
      ...enter(enter(enter(initialRecord(t0), 'DOWNLOADING', t0), 'DOWNLOADED', t0), 'INSTALLING', t0),
      starts: 4,
    };
    expect(atStep(installing, 'write')).toMatchObject({ step: 'write', starts: 4 });
  });

  it('refuses an illegal transition without changing anything', () => {
    const record = initialRecord(t0);
    expect(() => enter(record, 'COMMITTED', t1)).toThrow(IllegalTransitionError);
    expect(record.state).toBe('IDLE');
  });
});
