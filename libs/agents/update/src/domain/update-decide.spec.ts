/**
 * The update agent's decisions as a table: every state (and ROLLED_BACK before and after its
 * reboot) × every observation, each cell the next record and the effects, in order. `=` keeps the
 * record; `~field` changes it inside its state; `rejected` is an observation that state never
 * expects (decide throws: the engine's caller logs it, a command answers FAILED_PRECONDITION).
 * Below the table: the facts that change a cell (restart loops, bounded rollback reboots, boot time).
 */
import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@outpost/contracts';
import { decideUpdate, type UpdateEffect, type UpdateObservation } from './update-decide.js';
import {
  EARLIER,
  NOW,
  OBSERVATIONS,
  POLICY,
  recordIn,
  ROWS,
  summary,
  type Row,
} from './update-decide.cases.js';
import type { UpdateRecord } from './update-record.js';

const TABLE: Record<Row, Record<string, string>> = {
  IDLE: {
    'started on b, rebooted': '=',
    'started on a, rebooted': '=',
    'started on a, same boot': '=',
    'cmd.download': '= discard-staged>staged-discarded',
    'cmd.download same': '= discard-staged>staged-discarded',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': 'FAILED(signature) clean-up refuse:PERMISSION_DENIED',
    'cmd.download too big': 'FAILED(insufficient-storage) clean-up refuse:INVALID_ARGUMENT',
    'cmd.download esp full': 'FAILED(insufficient-storage) clean-up refuse:INVALID_ARGUMENT',
    'cmd.download, no slots': '= refuse:INTERNAL',
    'staged-discarded': 'DOWNLOADING log start-download',
    'download-done': 'rejected',
    'cmd.install': '= refuse:FAILED_PRECONDITION',
    'cmd.install, no slots': '= refuse:FAILED_PRECONDITION',
    'install-step': 'rejected',
    'install-done': 'rejected',
    'work-failed': 'rejected',
    'cmd.abort': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot entry gone': '= refuse:FAILED_PRECONDITION',
    'one-shot-set': 'rejected',
    'reboot-failed': 'rejected',
    'cmd.commit on b': '= refuse:FAILED_PRECONDITION',
    'cmd.commit on a': '= refuse:FAILED_PRECONDITION',
    'cmd.rollback': '= refuse:FAILED_PRECONDITION',
    'rollback-pending on b': '=',
    'rollback-pending on a': '=',
    'rollback-settled': '=',
  },
  DOWNLOADING: {
    'started on b, rebooted': '~starts start-download',
    'started on a, rebooted': '~starts start-download',
    'started on a, same boot': '~starts start-download',
    'cmd.download': '= refuse:FAILED_PRECONDITION',
    'cmd.download same': '=',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': '= refuse:FAILED_PRECONDITION',
    'cmd.download too big': '= refuse:FAILED_PRECONDITION',
    'cmd.download esp full': '= refuse:FAILED_PRECONDITION',
    'cmd.download, no slots': '= refuse:FAILED_PRECONDITION',
    'staged-discarded': 'rejected',
    'download-done': 'DOWNLOADED',
    'cmd.install': '= refuse:FAILED_PRECONDITION',
    'cmd.install, no slots': '= refuse:FAILED_PRECONDITION',
    'install-step': 'rejected',
    'install-done': 'rejected',
    'work-failed': 'FAILED(checksum) clean-up',
    'cmd.abort': 'FAILED(aborted) clean-up',
    'cmd.reboot': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot entry gone': '= refuse:FAILED_PRECONDITION',
    'one-shot-set': 'rejected',
    'reboot-failed': 'rejected',
    'cmd.commit on b': '= refuse:FAILED_PRECONDITION',
    'cmd.commit on a': '= refuse:FAILED_PRECONDITION',
    'cmd.rollback': '= refuse:FAILED_PRECONDITION',
    'rollback-pending on b': '=',
    'rollback-pending on a': '=',
    'rollback-settled': '=',
  },
  DOWNLOADED: {
    'started on b, rebooted': '=',
    'started on a, rebooted': '=',
    'started on a, same boot': '=',
    'cmd.download': '= discard-staged>staged-discarded',
    'cmd.download same': '=',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': 'FAILED(signature) clean-up refuse:PERMISSION_DENIED',
    'cmd.download too big': 'FAILED(insufficient-storage) clean-up refuse:INVALID_ARGUMENT',
    'cmd.download esp full': 'FAILED(insufficient-storage) clean-up refuse:INVALID_ARGUMENT',
    'cmd.download, no slots': '= refuse:INTERNAL',
    'staged-discarded': 'DOWNLOADING log start-download',
    'download-done': 'rejected',
    'cmd.install': 'INSTALLING start-install',
    'cmd.install, no slots': '= refuse:INTERNAL',
    'install-step': 'rejected',
    'install-done': 'rejected',
    'work-failed': 'rejected',
    'cmd.abort': 'FAILED(aborted) clean-up',
    'cmd.reboot': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot entry gone': '= refuse:FAILED_PRECONDITION',
    'one-shot-set': 'rejected',
    'reboot-failed': 'rejected',
    'cmd.commit on b': '= refuse:FAILED_PRECONDITION',
    'cmd.commit on a': '= refuse:FAILED_PRECONDITION',
    'cmd.rollback': '= refuse:FAILED_PRECONDITION',
    'rollback-pending on b': '=',
    'rollback-pending on a': '=',
    'rollback-settled': '=',
  },
  INSTALLING: {
    'started on b, rebooted': '~starts ~step start-install',
    'started on a, rebooted': '~starts ~step start-install',
    'started on a, same boot': '~starts ~step start-install',
    'cmd.download': '= refuse:FAILED_PRECONDITION',
    'cmd.download same': '= refuse:FAILED_PRECONDITION',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': '= refuse:FAILED_PRECONDITION',
    'cmd.download too big': '= refuse:FAILED_PRECONDITION',
    'cmd.download esp full': '= refuse:FAILED_PRECONDITION',
    'cmd.download, no slots': '= refuse:FAILED_PRECONDITION',
    'staged-discarded': 'rejected',
    'download-done': 'rejected',
    'cmd.install': '=',
    'cmd.install, no slots': '=',
    'install-step': '~step',
    'install-done': 'INSTALLED',
    'work-failed': 'FAILED(checksum) clean-up',
    'cmd.abort': 'FAILED(aborted) clean-up',
    'cmd.reboot': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot entry gone': '= refuse:FAILED_PRECONDITION',
    'one-shot-set': 'rejected',
    'reboot-failed': 'rejected',
    'cmd.commit on b': '= refuse:FAILED_PRECONDITION',
    'cmd.commit on a': '= refuse:FAILED_PRECONDITION',
    'cmd.rollback': '= refuse:FAILED_PRECONDITION',
    'rollback-pending on b': '=',
    'rollback-pending on a': '=',
    'rollback-settled': '=',
  },
  INSTALLED: {
    'started on b, rebooted': '=',
    'started on a, rebooted': '=',
    'started on a, same boot': '=',
    'cmd.download': '= refuse:FAILED_PRECONDITION',
    'cmd.download same': '= refuse:FAILED_PRECONDITION',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': '= refuse:FAILED_PRECONDITION',
    'cmd.download too big': '= refuse:FAILED_PRECONDITION',
    'cmd.download esp full': '= refuse:FAILED_PRECONDITION',
    'cmd.download, no slots': '= refuse:FAILED_PRECONDITION',
    'staged-discarded': 'rejected',
    'download-done': 'rejected',
    'cmd.install': '=',
    'cmd.install, no slots': '=',
    'install-step': 'rejected',
    'install-done': 'rejected',
    'work-failed': 'rejected',
    'cmd.abort': 'FAILED(aborted) clean-up',
    'cmd.reboot': '= ensure-one-shot',
    'cmd.reboot entry gone': 'FAILED(boot-config) clean-up refuse:FAILED_PRECONDITION',
    'one-shot-set': 'REBOOTING crash:reboot reboot-into-target',
    'reboot-failed': 'rejected',
    'cmd.commit on b': '= refuse:FAILED_PRECONDITION',
    'cmd.commit on a': '= refuse:FAILED_PRECONDITION',
    'cmd.rollback': '= refuse:FAILED_PRECONDITION',
    'rollback-pending on b': '=',
    'rollback-pending on a': '=',
    'rollback-settled': '=',
  },
  REBOOTING: {
    'started on b, rebooted': 'VERIFYING',
    'started on a, rebooted': 'ROLLED_BACK(boot-fallback) mark-target-bad',
    'started on a, same boot': 'INSTALLED',
    'cmd.download': '= refuse:FAILED_PRECONDITION',
    'cmd.download same': '= refuse:FAILED_PRECONDITION',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': '= refuse:FAILED_PRECONDITION',
    'cmd.download too big': '= refuse:FAILED_PRECONDITION',
    'cmd.download esp full': '= refuse:FAILED_PRECONDITION',
    'cmd.download, no slots': '= refuse:FAILED_PRECONDITION',
    'staged-discarded': 'rejected',
    'download-done': 'rejected',
    'cmd.install': '= refuse:FAILED_PRECONDITION',
    'cmd.install, no slots': '= refuse:FAILED_PRECONDITION',
    'install-step': 'rejected',
    'install-done': 'rejected',
    'work-failed': 'rejected',
    'cmd.abort': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot': '=',
    'cmd.reboot entry gone': '=',
    'one-shot-set': 'rejected',
    'reboot-failed': 'INSTALLED refuse:UNAVAILABLE',
    'cmd.commit on b': '= refuse:FAILED_PRECONDITION',
    'cmd.commit on a': '= refuse:FAILED_PRECONDITION',
    'cmd.rollback': '= refuse:FAILED_PRECONDITION',
    'rollback-pending on b': '=',
    'rollback-pending on a': '=',
    'rollback-settled': '=',
  },
  VERIFYING: {
    'started on b, rebooted': '=',
    'started on a, rebooted': 'ROLLED_BACK(boot-fallback) mark-target-bad',
    'started on a, same boot': 'ROLLED_BACK(boot-fallback) mark-target-bad',
    'cmd.download': '= refuse:FAILED_PRECONDITION',
    'cmd.download same': '= refuse:FAILED_PRECONDITION',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': '= refuse:FAILED_PRECONDITION',
    'cmd.download too big': '= refuse:FAILED_PRECONDITION',
    'cmd.download esp full': '= refuse:FAILED_PRECONDITION',
    'cmd.download, no slots': '= refuse:FAILED_PRECONDITION',
    'staged-discarded': 'rejected',
    'download-done': 'rejected',
    'cmd.install': '= refuse:FAILED_PRECONDITION',
    'cmd.install, no slots': '= refuse:FAILED_PRECONDITION',
    'install-step': 'rejected',
    'install-done': 'rejected',
    'work-failed': 'rejected',
    'cmd.abort': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot entry gone': '= refuse:FAILED_PRECONDITION',
    'one-shot-set': 'rejected',
    'reboot-failed': 'rejected',
    'cmd.commit on b': 'COMMITTED crash:commit apply-commit',
    'cmd.commit on a': 'ROLLED_BACK(boot-fallback) mark-target-bad refuse:FAILED_PRECONDITION',
    'cmd.rollback': 'ROLLED_BACK(health) crash:rollback check-rollback',
    'rollback-pending on b': '=',
    'rollback-pending on a': '=',
    'rollback-settled': '=',
  },
  COMMITTED: {
    'started on b, rebooted': '= apply-commit',
    'started on a, rebooted': '=',
    'started on a, same boot': '=',
    'cmd.download': '= discard-staged>staged-discarded',
    'cmd.download same': '= discard-staged>staged-discarded',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': 'FAILED(signature) clean-up refuse:PERMISSION_DENIED',
    'cmd.download too big': 'FAILED(insufficient-storage) clean-up refuse:INVALID_ARGUMENT',
    'cmd.download esp full': 'FAILED(insufficient-storage) clean-up refuse:INVALID_ARGUMENT',
    'cmd.download, no slots': '= refuse:INTERNAL',
    'staged-discarded': 'DOWNLOADING log start-download',
    'download-done': 'rejected',
    'cmd.install': '= refuse:FAILED_PRECONDITION',
    'cmd.install, no slots': '= refuse:FAILED_PRECONDITION',
    'install-step': 'rejected',
    'install-done': 'rejected',
    'work-failed': 'rejected',
    'cmd.abort': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot entry gone': '= refuse:FAILED_PRECONDITION',
    'one-shot-set': 'rejected',
    'reboot-failed': 'rejected',
    'cmd.commit on b': '= apply-commit',
    'cmd.commit on a': '= apply-commit',
    'cmd.rollback': '= refuse:FAILED_PRECONDITION',
    'rollback-pending on b': '=',
    'rollback-pending on a': '=',
    'rollback-settled': '=',
  },
  ROLLED_BACK: {
    'started on b, rebooted': '= check-rollback',
    'started on a, rebooted': '= check-rollback',
    'started on a, same boot': '= check-rollback',
    'cmd.download': '= refuse:FAILED_PRECONDITION',
    'cmd.download same': '= refuse:FAILED_PRECONDITION',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': '= refuse:FAILED_PRECONDITION',
    'cmd.download too big': '= refuse:FAILED_PRECONDITION',
    'cmd.download esp full': '= refuse:FAILED_PRECONDITION',
    'cmd.download, no slots': '= refuse:FAILED_PRECONDITION',
    'staged-discarded': 'rejected',
    'download-done': 'rejected',
    'cmd.install': '= refuse:FAILED_PRECONDITION',
    'cmd.install, no slots': '= refuse:FAILED_PRECONDITION',
    'install-step': 'rejected',
    'install-done': 'rejected',
    'work-failed': 'rejected',
    'cmd.abort': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot entry gone': '= refuse:FAILED_PRECONDITION',
    'one-shot-set': 'rejected',
    'reboot-failed': 'rejected',
    'cmd.commit on b': '= refuse:FAILED_PRECONDITION',
    'cmd.commit on a': '= refuse:FAILED_PRECONDITION',
    'cmd.rollback': '= check-rollback',
    'rollback-pending on b': '~rollbackReboots ~rollbackRebootAt crash:rollback:reboot reboot-into-previous',
    'rollback-pending on a': '= mark-target-bad>rollback-settled',
    'rollback-settled': '~rebootPending',
  },
  FAILED: {
    'started on b, rebooted': '= clean-up',
    'started on a, rebooted': '= clean-up',
    'started on a, same boot': '= clean-up',
    'cmd.download': '= discard-staged>staged-discarded',
    'cmd.download same': '= discard-staged>staged-discarded',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': 'FAILED(signature) clean-up refuse:PERMISSION_DENIED',
    'cmd.download too big': 'FAILED(insufficient-storage) clean-up refuse:INVALID_ARGUMENT',
    'cmd.download esp full': 'FAILED(insufficient-storage) clean-up refuse:INVALID_ARGUMENT',
    'cmd.download, no slots': '= refuse:INTERNAL',
    'staged-discarded': 'DOWNLOADING log start-download',
    'download-done': 'rejected',
    'cmd.install': '= refuse:FAILED_PRECONDITION',
    'cmd.install, no slots': '= refuse:FAILED_PRECONDITION',
    'install-step': 'rejected',
    'install-done': 'rejected',
    'work-failed': 'rejected',
    'cmd.abort': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot entry gone': '= refuse:FAILED_PRECONDITION',
    'one-shot-set': 'rejected',
    'reboot-failed': 'rejected',
    'cmd.commit on b': '= refuse:FAILED_PRECONDITION',
    'cmd.commit on a': '= refuse:FAILED_PRECONDITION',
    'cmd.rollback': '= refuse:FAILED_PRECONDITION',
    'rollback-pending on b': '=',
    'rollback-pending on a': '=',
    'rollback-settled': '=',
  },
  'ROLLED_BACK, settled': {
    'started on b, rebooted': '= mark-target-bad',
    'started on a, rebooted': '= mark-target-bad',
    'started on a, same boot': '= mark-target-bad',
    'cmd.download': '= discard-staged>staged-discarded',
    'cmd.download same': '= discard-staged>staged-discarded',
    'cmd.download malformed': '= refuse:INVALID_ARGUMENT',
    'cmd.download unsigned': 'FAILED(signature) clean-up refuse:PERMISSION_DENIED',
    'cmd.download too big': 'FAILED(insufficient-storage) clean-up refuse:INVALID_ARGUMENT',
    'cmd.download esp full': 'FAILED(insufficient-storage) clean-up refuse:INVALID_ARGUMENT',
    'cmd.download, no slots': '= refuse:INTERNAL',
    'staged-discarded': 'DOWNLOADING log start-download',
    'download-done': 'rejected',
    'cmd.install': '= refuse:FAILED_PRECONDITION',
    'cmd.install, no slots': '= refuse:FAILED_PRECONDITION',
    'install-step': 'rejected',
    'install-done': 'rejected',
    'work-failed': 'rejected',
    'cmd.abort': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot': '= refuse:FAILED_PRECONDITION',
    'cmd.reboot entry gone': '= refuse:FAILED_PRECONDITION',
    'one-shot-set': 'rejected',
    'reboot-failed': 'rejected',
    'cmd.commit on b': '= refuse:FAILED_PRECONDITION',
    'cmd.commit on a': '= refuse:FAILED_PRECONDITION',
    'cmd.rollback': '=',
    'rollback-pending on b': '=',
    'rollback-pending on a': '=',
    'rollback-settled': '=',
  },
};

function cell(record: UpdateRecord, observation: UpdateObservation): string {
  try {
    const { next, effects } = decideUpdate(record, observation, NOW, POLICY);
    return summary(record, next, effects);
  } catch {
    return 'rejected';
  }
}

describe('update decide: state × observation', () => {
  it('covers every row and every observation', () => {
    expect(Object.keys(TABLE)).toEqual([...ROWS]);
    for (const row of ROWS) expect(Object.keys(TABLE[row])).toEqual(Object.keys(OBSERVATIONS));
  });

  const cases = ROWS.flatMap((row) =>
    Object.keys(OBSERVATIONS).map((name) => [row, name, TABLE[row][name]] as const),
  );
  it.each(cases)('%s + %s → %s', (row, name, expected) => {
    const record = recordIn(row);
    const frozen = structuredClone(record);
    expect(cell(record, OBSERVATIONS[name] as UpdateObservation)).toBe(expected);
    expect(record).toEqual(frozen); // decide never mutates the record it is given
  });
});

describe('update decide: the facts behind a cell', () => {
  const decide = (record: UpdateRecord, observation: UpdateObservation, policy = POLICY) =>
    decideUpdate(record, observation, NOW, policy);
  const started = { kind: 'started', activeSlot: 'a', bootedAt: EARLIER + 1 } as const;

  it('counts starts of resumable work and fails a restart loop past maxStarts', () => {
    const downloading = { ...recordIn('DOWNLOADING'), starts: 2 };
    expect(decide(downloading, started).next).toMatchObject({ state: 'DOWNLOADING', starts: 3 });
    const looping = { ...recordIn('INSTALLING'), starts: 3 };
    const { next, effects } = decide(looping, started);
    expect(next).toMatchObject({
      state: 'FAILED',
      reason: 'restart-loop',
      detail: '4 starts in INSTALLING/write',
    });
    expect(effects).toEqual([{ kind: 'clean-up' }]);
  });

  it('resumes an install from its first step', () => {
    expect(decide(recordIn('INSTALLING'), started).next).toMatchObject({ step: 'invalidate', starts: 1 });
  });

  it('judges a reboot by the boot time, or by the slot when the boot time is unknown', () => {
    const rebooting = recordIn('REBOOTING');
    expect(decide(rebooting, { kind: 'started', activeSlot: 'b' }).next.state).toBe('VERIFYING');
    expect(decide(rebooting, { kind: 'started', activeSlot: 'a' }).next.state).toBe('INSTALLED');
    expect(decide(rebooting, { kind: 'started', activeSlot: 'b', bootedAt: EARLIER - 1 }).next.state).toBe(
      'INSTALLED',
    );
    const booted = decide(rebooting, {
      kind: 'started',
      activeSlot: 'b',
      bootedAt: EARLIER,
      targetEntryFile: 'outpost-b+2-1.conf',
    });
    expect(booted.next.detail).toBe('booted slot b (outpost-b+2-1.conf): waiting for commit');
  });

  it('a commanded rollback keeps its reason and detail, and remembers the reboot is pending', () => {
    const { next } = decide(recordIn('VERIFYING'), { kind: 'cmd.rollback', reason: 'health', detail: '' });
    expect(next).toMatchObject({
      state: 'ROLLED_BACK',
      reason: 'health',
      detail: 'rollback requested',
      rebootPending: true,
      rollbackReboots: 0,
    });
    expect(next.rollbackRebootAt).toBeUndefined();
  });

  describe('a pending rollback (bounded reboots)', () => {
    const pending = (o: Partial<UpdateRecord> = {}) => ({ ...recordIn('ROLLED_BACK'), ...o });
    const onB = (origin: 'command' | 'start', bootedAt?: number): UpdateObservation => ({
      kind: 'rollback-pending',
      origin,
      activeSlot: 'b',
      bootedAt,
    });

    it('counts each reboot into the previous slot before asking for it', () => {
      const { next, effects } = decide(pending({ rollbackReboots: 1 }), onB('start', EARLIER - 1));
      expect(next).toMatchObject({ rollbackReboots: 2, rollbackRebootAt: NOW.getTime() });
      expect(effects).toEqual([
        { kind: 'crash-point', step: 'rollback:reboot' },
        { kind: 'reboot-into-previous', origin: 'start' },
      ]);
    });

    it('asks again without counting when the last request was made in this boot', () => {
      const record = pending({ rollbackReboots: 1, rollbackRebootAt: EARLIER });
      const { next, effects } = decide(record, onB('command', EARLIER - 1));
      expect(next).toBe(record);
      expect(effects).toEqual([{ kind: 'reboot-into-previous', origin: 'command' }]);
    });

    it('counts a new request when the machine booted since the last one', () => {
      const record = pending({ rollbackReboots: 1, rollbackRebootAt: EARLIER });
      expect(decide(record, onB('command', EARLIER + 1)).next.rollbackReboots).toBe(2);
    });

    it('stops rebooting once maxRollbackReboots is spent, and says so', () => {
      const record = pending({ rollbackReboots: 2, rollbackRebootAt: EARLIER });
      const { next, effects } = decide(record, onB('start', EARLIER + 1));
      expect(next).toBe(record);
      expect(effects).toEqual([
        {
          kind: 'rollback-stuck',
          origin: 'start',
          message:
            'rollback of 2.0.0 stuck: still on slot b after 2 reboot(s) into slot a; not rebooting again (needs a human)',
        },
      ]);
      expect(
        decide(pending(), onB('command'), { ...POLICY, maxRollbackReboots: 0 }).effects[0],
      ).toMatchObject({
        kind: 'rollback-stuck',
        origin: 'command',
      });
    });

    it('settles on the previous slot: marks the entry bad, then clears the pending reboot', () => {
      const { effects } = decide(pending(), { kind: 'rollback-pending', origin: 'start', activeSlot: 'a' });
      expect(effects).toEqual([
        { kind: 'mark-target-bad', origin: 'start', then: { kind: 'rollback-settled' } },
      ]);
      expect(decide(pending(), { kind: 'rollback-settled' }).next.rebootPending).toBe(false);
    });

    it('refuses a new download until the rollback has rebooted', () => {
      const effect = decide(pending(), OBSERVATIONS['cmd.download'] as UpdateObservation)
        .effects[0] as UpdateEffect;
      expect(effect).toEqual({
        kind: 'refuse',
        code: ErrorCode.FAILED_PRECONDITION,
        message:
          'the rollback of 2.0.0 to slot a has not rebooted yet: slot a is the one a new update would overwrite',
      });
    });
  });

  it('a download begins only after the staged files of the last one are gone', () => {
    const { effects } = decide(recordIn('COMMITTED'), OBSERVATIONS['cmd.download'] as UpdateObservation);
    expect(effects).toEqual([
      { kind: 'discard-staged', then: expect.objectContaining({ kind: 'staged-discarded' }) },
    ]);
    const begun = decide(recordIn('COMMITTED'), OBSERVATIONS['staged-discarded'] as UpdateObservation).next;
    expect(begun).toMatchObject({
      state: 'DOWNLOADING',
      sourceSlot: 'a',
      targetSlot: 'b',
      entryId: 'outpost-b.conf',
      installStarted: false,
    });
    expect(begun.rollbackReboots).toBeUndefined();
  });

  it('a refused manifest is recorded with the FAILED update', () => {
    const { next } = decide(recordIn('IDLE'), OBSERVATIONS['cmd.download unsigned'] as UpdateObservation);
    expect(next).toMatchObject({
      state: 'FAILED',
      reason: 'signature',
      detail: 'manifest 3.0.0 refused: no signature',
    });
    expect(next.manifest?.version).toBe('3.0.0');
  });
});
