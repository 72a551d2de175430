/**
 * What the update agent does next, as one pure function: `decide(record, observation, now)` returns
 * the next record and the effects that carry it out (the service runs it through the shared
 * DecisionEngine, which persists the record before any effect). Observations carry the facts the
 * service read for them (the running slot, the boot time, the manifest's verdict), so nothing here
 * touches the device, the disk or the bus. A refusal is an effect too: the reply's typed error, after
 * whatever the refusal itself changed (a refused manifest is a FAILED update).
 */
import { ErrorCode, type UpdateManifest } from '@outpost/contracts';
import type { Decide, Decision } from '@outpost/agent-runtime';
import { entryIdFor } from './boot-entry.js';
import { canonicalManifest } from './manifest.js';
import { atStep, enter, type Entering, type UpdateRecord } from './update-record.js';
import {
  canStartUpdate,
  isRestartLoop,
  resumesWork,
  type InstallStep,
  type Reason,
  type StateName,
} from './update-state.js';

/** Limits of the policy, from the agent's settings. */
export interface UpdatePolicy {
  /** Starts in DOWNLOADING/INSTALLING before it is a restart loop. */
  maxStarts: number;
  /** Reboots into the previous slot one rollback may request before it is stuck. */
  maxRollbackReboots: number;
}

export interface SlotFacts {
  active: string;
  inactive: string;
  /** Bytes the inactive slot holds. */
  inactiveSize: number;
}

/** The slots, or why they could not be read (this boot names no A/B slot): refused when needed. */
export type SlotsRead = SlotFacts | { unreadable: string };

/** Who asked for a step of a rollback: a command (its failure is the reply) or the start (it degrades). */
export type Origin = 'command' | 'start';

export type Verdict = { ok: true; keyId: string } | { ok: false; message: string };

export type UpdateObservation =
  /** The agent started: the slot that booted, and when the machine booted (ms; absent if unknown). */
  | { kind: 'started'; activeSlot: string; bootedAt?: number; targetEntryFile?: string }
  | {
      kind: 'cmd.download';
      manifest: UpdateManifest;
      /** What is wrong with the manifest's fields (empty: nothing). */
      problems: string[];
      verdict: Verdict;
      slots: SlotsRead;
      /** Why the ESP cannot take the boot files ('' when it can). */
      espShortfall: string;
    }
  /** The staged files of an earlier update are gone: the download may begin. */
  | { kind: 'staged-discarded'; manifest: UpdateManifest; keyId: string; slots: SlotFacts }
  | { kind: 'cmd.install'; slots: SlotsRead }
  | { kind: 'cmd.abort' }
  | { kind: 'cmd.reboot'; entryExists: boolean }
  /** The target entry is the one-shot of the next boot. */
  | { kind: 'one-shot-set' }
  | { kind: 'reboot-failed'; message: string }
  | { kind: 'cmd.commit'; activeSlot: string }
  | { kind: 'cmd.rollback'; reason: Reason; detail: string }
  /** The facts a pending rollback needs, read when it is its turn. */
  | { kind: 'rollback-pending'; origin: Origin; activeSlot: string; bootedAt?: number }
  /** The bad entry is marked: the rollback is settled. */
  | { kind: 'rollback-settled' }
  | { kind: 'download-done' }
  /** INSTALLING reached `step` (persisted before the step's side effect). */
  | { kind: 'install-step'; step: InstallStep }
  | { kind: 'install-done'; entryId: string }
  | { kind: 'work-failed'; reason: Reason; message: string };

export type UpdateEffect =
  /** Answer the command with this typed error (after the effects before it). */
  | { kind: 'refuse'; code: ErrorCode; message: string; details?: string[] }
  | { kind: 'log'; message: string }
  /** The test hook: SIGKILL here when the agent is told to. */
  | { kind: 'crash-point'; step: string }
  /** Remove what an earlier download staged, then decide `then`. */
  | { kind: 'discard-staged'; then: UpdateObservation }
  | { kind: 'start-download' }
  | { kind: 'start-install' }
  /** After FAILED: nothing staged, and a begun install leaves no way to boot its slot. */
  | { kind: 'clean-up' }
  /** Make the target entry the next boot's one-shot, then decide one-shot-set. */
  | { kind: 'ensure-one-shot' }
  /** Reboot into the target slot; a failure is decided as reboot-failed. */
  | { kind: 'reboot-into-target' }
  /** Bless the target entry and make it the default. */
  | { kind: 'apply-commit' }
  /** The target entry must never boot again; then decide `then`, if any. */
  | { kind: 'mark-target-bad'; origin?: Origin; then?: UpdateObservation }
  /** Read the slot and the boot time, decided as rollback-pending. */
  | { kind: 'check-rollback'; origin: Origin }
  | { kind: 'reboot-into-previous'; origin: Origin }
  /** The rollback cannot leave the bad slot: say so, stop rebooting, refuse (or stay not ready). */
  | { kind: 'rollback-stuck'; origin: Origin; message: string };

type Change = Entering & Partial<Omit<UpdateRecord, 'state' | 'since' | 'starts'>>;

const same = (record: UpdateRecord, ...effects: UpdateEffect[]): Decision<UpdateRecord, UpdateEffect> => ({
  next: record,
  effects,
});
const refuse = (code: ErrorCode, message: string, details?: string[]): UpdateEffect => ({
  kind: 'refuse',
  code,
  message,
  ...(details ? { details } : {}),
});
const precondition = (message: string) => refuse(ErrorCode.FAILED_PRECONDITION, message);

export function versionOf(record: UpdateRecord): string {
  return record.manifest?.version ?? '';
}

/** The decide of the update agent under `policy`. */
export function updateDecider(policy: UpdatePolicy): Decide<UpdateRecord, UpdateObservation, UpdateEffect> {
  return (record, observation, now) => decideUpdate(record, observation, now, policy);
}

export function decideUpdate(
  record: UpdateRecord,
  obs: UpdateObservation,
  now: Date,
  policy: UpdatePolicy,
): Decision<UpdateRecord, UpdateEffect> {
  const go = (to: StateName, change: Change = {}, ...effects: UpdateEffect[]) => ({
    next: enter(record, to, now, change),
    effects,
  });
  const fail = (reason: Reason, detail: string, change: Change = {}, ...after: UpdateEffect[]) =>
    go('FAILED', { ...change, reason, detail }, { kind: 'clean-up' }, ...after);
  const state = record.state;

  switch (obs.kind) {
    case 'started':
      return started(record, obs, now, policy);

    case 'cmd.download': {
      const m = obs.manifest;
      if (obs.problems.length > 0)
        return same(
          record,
          refuse(ErrorCode.INVALID_ARGUMENT, `manifest: ${obs.problems.join('; ')}`, obs.problems),
        );
      if ((state === 'DOWNLOADING' || state === 'DOWNLOADED') && isCurrent(record, m)) return same(record);
      const blocked = startBlocker(record);
      if (blocked) return same(record, precondition(blocked));
      if (!obs.verdict.ok)
        return fail(
          'signature',
          `manifest ${m.version} refused: ${obs.verdict.message}`,
          { manifest: m },
          refuse(ErrorCode.PERMISSION_DENIED, `manifest refused: ${obs.verdict.message}`),
        );
      if ('unreadable' in obs.slots) return same(record, refuse(ErrorCode.INTERNAL, obs.slots.unreadable));
      if (m.size > BigInt(obs.slots.inactiveSize)) {
        const message = `size ${m.size}: larger than slot ${obs.slots.inactive} (${obs.slots.inactiveSize} bytes)`;
        return fail('insufficient-storage', message, {}, refuse(ErrorCode.INVALID_ARGUMENT, message));
      }
      if (obs.espShortfall)
        return fail(
          'insufficient-storage',
          obs.espShortfall,
          {},
          refuse(ErrorCode.INVALID_ARGUMENT, obs.espShortfall),
        );
      return same(record, {
        kind: 'discard-staged',
        then: { kind: 'staged-discarded', manifest: m, keyId: obs.verdict.keyId, slots: obs.slots },
      });
    }

    case 'staged-discarded': {
      const blocked = startBlocker(record);
      if (blocked) throw new Error(`the download of ${obs.manifest.version} cannot begin: ${blocked}`);
      return go(
        'DOWNLOADING',
        {
          manifest: obs.manifest,
          sourceSlot: obs.slots.active,
          targetSlot: obs.slots.inactive,
          entryId: entryIdFor(obs.slots.inactive),
          installStarted: false,
          rebootRequestedAt: undefined,
          rebootPending: undefined,
          rollbackReboots: undefined,
          rollbackRebootAt: undefined,
        },
        { kind: 'log', message: `manifest ${obs.manifest.version} signed by trusted key ${obs.keyId}` },
        { kind: 'start-download' },
      );
    }

    case 'download-done': {
      const files = record.manifest?.bootFiles.length ?? 0;
      const boot = files ? ` and ${files} boot file(s)` : '';
      return go('DOWNLOADED', {
        detail: `staged ${record.manifest?.size ?? 0} bytes${boot}, sha256 verified`,
      });
    }

    case 'cmd.install':
      if (state === 'INSTALLING' || state === 'INSTALLED') return same(record);
      if (state !== 'DOWNLOADED')
        return same(
          record,
          precondition(`install needs a verified download (DOWNLOADED); the update is ${state}`),
        );
      if ('unreadable' in obs.slots) return same(record, refuse(ErrorCode.INTERNAL, obs.slots.unreadable));
      return go(
        'INSTALLING',
        {
          step: 'invalidate',
          sourceSlot: obs.slots.active,
          targetSlot: obs.slots.inactive,
          entryId: entryIdFor(obs.slots.inactive),
          installStarted: true,
        },
        { kind: 'start-install' },
      );

    case 'install-step':
      if (state !== 'INSTALLING') throw new Error(`install step ${obs.step} in ${state}: no install runs`);
      return same(atStep(record, obs.step));

    case 'install-done':
      if (state !== 'INSTALLING') throw new Error(`install done in ${state}: no install runs`);
      return go('INSTALLED', {
        detail: `slot ${record.targetSlot} written and verified; ${obs.entryId} boots next`,
      });

    case 'work-failed':
      if (!resumesWork(state))
        throw new Error(`${obs.reason} failure in ${state}: no download or install runs`);
      return fail(obs.reason, obs.message);

    case 'cmd.abort':
      if (state === 'FAILED' && record.reason === 'aborted') return same(record);
      if (!['DOWNLOADING', 'DOWNLOADED', 'INSTALLING', 'INSTALLED'].includes(state))
        return same(
          record,
          precondition(
            `nothing to abort: the update is ${state}${state === 'VERIFYING' ? ' (roll it back instead)' : ''}`,
          ),
        );
      return fail('aborted', `aborted in ${state}`);

    case 'cmd.reboot': {
      if (state === 'REBOOTING') return same(record);
      if (state !== 'INSTALLED')
        return same(
          record,
          precondition(`reboot needs an installed update (INSTALLED); the update is ${state}`),
        );
      const entryId = record.entryId ?? '';
      if (!obs.entryExists)
        return fail(
          'boot-config',
          `boot entry ${entryId} is gone`,
          {},
          precondition(`boot entry ${entryId} is gone: install again`),
        );
      return same(record, { kind: 'ensure-one-shot' });
    }

    case 'one-shot-set':
      return go(
        'REBOOTING',
        { rebootRequestedAt: now.getTime() },
        { kind: 'crash-point', step: 'reboot' },
        { kind: 'reboot-into-target' },
      );

    case 'reboot-failed':
      if (state !== 'REBOOTING') throw new Error(`reboot failed in ${state}: no reboot was requested`);
      return go(
        'INSTALLED',
        { detail: `reboot failed: ${obs.message}` },
        refuse(ErrorCode.UNAVAILABLE, `reboot failed: ${obs.message}`),
      );

    case 'cmd.commit':
      if (state !== 'VERIFYING' && state !== 'COMMITTED')
        return same(record, precondition(`commit needs a booted update (VERIFYING); the update is ${state}`));
      if (state === 'COMMITTED') return same(record, { kind: 'apply-commit' });
      if (obs.activeSlot !== record.targetSlot)
        return fallenBack(
          record,
          obs.activeSlot,
          now,
          precondition(
            `the node runs slot ${obs.activeSlot}, not the updated ${record.targetSlot}: rolled back`,
          ),
        );
      return go(
        'COMMITTED',
        { detail: `slot ${record.targetSlot} is the default` },
        { kind: 'crash-point', step: 'commit' },
        { kind: 'apply-commit' },
      );

    case 'cmd.rollback':
      // A resent request, or the reboot did not happen.
      if (state === 'ROLLED_BACK' && record.rebootPending)
        return same(record, { kind: 'check-rollback', origin: 'command' });
      // Resent after the rollback finished (the sender saw an older status): it is done.
      if (state === 'ROLLED_BACK' && record.rollbackReboots !== undefined) return same(record);
      if (state !== 'VERIFYING')
        return same(
          record,
          precondition(`rollback needs a booted update (VERIFYING); the update is ${state}`),
        );
      return go(
        'ROLLED_BACK',
        {
          reason: obs.reason,
          detail: obs.detail || 'rollback requested',
          rebootPending: true,
          rollbackReboots: 0,
          rollbackRebootAt: undefined,
        },
        { kind: 'crash-point', step: 'rollback' },
        { kind: 'check-rollback', origin: 'command' },
      );

    case 'rollback-pending':
      return finishRollback(record, obs, now, policy);

    case 'rollback-settled':
      if (state !== 'ROLLED_BACK' || !record.rebootPending) return same(record);
      return same({ ...record, rebootPending: false });
  }
}

/** The boot loader did not boot the new slot: the update is over, and its entry must never boot. */
function fallenBack(
  record: UpdateRecord,
  activeSlot: string,
  now: Date,
  ...after: UpdateEffect[]
): Decision<UpdateRecord, UpdateEffect> {
  return {
    next: enter(record, 'ROLLED_BACK', now, {
      reason: 'boot-fallback',
      detail: `expected slot ${record.targetSlot}, booted ${activeSlot}: the boot loader fell back`,
    }),
    effects: [{ kind: 'mark-target-bad' }, ...after],
  };
}

/** What a start finishes or resumes, by the state it finds. */
function started(
  record: UpdateRecord,
  obs: Extract<UpdateObservation, { kind: 'started' }>,
  now: Date,
  policy: UpdatePolicy,
): Decision<UpdateRecord, UpdateEffect> {
  const r = record;
  if (resumesWork(r.state)) {
    const starts = r.starts + 1;
    if (isRestartLoop(starts, policy.maxStarts))
      return {
        next: enter(r, 'FAILED', now, {
          reason: 'restart-loop',
          detail: `${starts} starts in ${r.state}/${r.step ?? '-'}`,
        }),
        effects: [{ kind: 'clean-up' }],
      };
    if (r.state === 'DOWNLOADING') return same({ ...r, starts }, { kind: 'start-download' });
    return same({ ...atStep(r, 'invalidate'), starts }, { kind: 'start-install' });
  }
  const onTarget = obs.activeSlot === r.targetSlot;
  switch (r.state) {
    case 'REBOOTING': {
      const rebooted = obs.bootedAt === undefined ? onTarget : obs.bootedAt >= (r.rebootRequestedAt ?? 0);
      if (!rebooted)
        return {
          next: enter(r, 'INSTALLED', now, { detail: 'the agent restarted but the machine did not reboot' }),
          effects: [],
        };
      if (!onTarget) return fallenBack(r, obs.activeSlot, now);
      return {
        next: enter(r, 'VERIFYING', now, {
          detail: `booted slot ${r.targetSlot} (${obs.targetEntryFile ?? r.entryId}): waiting for commit`,
        }),
        effects: [],
      };
    }
    case 'VERIFYING':
      return onTarget ? same(r) : fallenBack(r, obs.activeSlot, now);
    case 'COMMITTED':
      return onTarget ? same(r, { kind: 'apply-commit' }) : same(r);
    case 'ROLLED_BACK':
      // A rollback whose reboot did not happen (or did not leave the bad slot) is finished here.
      return r.rebootPending
        ? same(r, { kind: 'check-rollback', origin: 'start' })
        : same(r, { kind: 'mark-target-bad' });
    case 'FAILED':
      return same(r, { kind: 'clean-up' });
    default:
      return same(r);
  }
}

/**
 * ROLLED_BACK with the reboot still pending: on the previous slot already, it is done; on the bad
 * slot, reboot into the previous one, counting each request before it is made. Once the count is
 * spent the node evidently cannot leave the bad slot: stop rebooting, say so, and wait for a human.
 */
function finishRollback(
  record: UpdateRecord,
  obs: Extract<UpdateObservation, { kind: 'rollback-pending' }>,
  now: Date,
  policy: UpdatePolicy,
): Decision<UpdateRecord, UpdateEffect> {
  if (record.state !== 'ROLLED_BACK' || !record.rebootPending) return same(record);
  const { origin } = obs;
  if (obs.activeSlot !== record.targetSlot)
    return same(record, { kind: 'mark-target-bad', origin, then: { kind: 'rollback-settled' } });
  const done = record.rollbackReboots ?? 0;
  const last = record.rollbackRebootAt;
  // Requested in this boot, not yet happened (killed before it, or still shutting down): the same
  // attempt again, not another one.
  if (last !== undefined && obs.bootedAt !== undefined && obs.bootedAt < last)
    return same(record, { kind: 'reboot-into-previous', origin });
  if (done >= policy.maxRollbackReboots)
    return same(record, {
      kind: 'rollback-stuck',
      origin,
      message: `rollback of ${versionOf(record)} stuck: still on slot ${obs.activeSlot} after ${done} reboot(s) into slot ${record.sourceSlot}; not rebooting again (needs a human)`,
    });
  return same(
    { ...record, rollbackReboots: done + 1, rollbackRebootAt: now.getTime() },
    { kind: 'crash-point', step: 'rollback:reboot' },
    { kind: 'reboot-into-previous', origin },
  );
}

/** Why no new update may start now (undefined: it may). */
function startBlocker(record: UpdateRecord): string | undefined {
  const state = record.state;
  if (state === 'ROLLED_BACK' && record.rebootPending)
    return `the rollback of ${versionOf(record)} to slot ${record.sourceSlot} has not rebooted yet: slot ${record.sourceSlot} is the one a new update would overwrite`;
  if (!canStartUpdate(state))
    return `an update of ${versionOf(record)} is ${state}: abort, commit or roll it back first`;
  return undefined;
}

/** The same manifest (and signature) as the update in the record: a resent cmd.download. */
function isCurrent(record: UpdateRecord, manifest: UpdateManifest): boolean {
  const current = record.manifest;
  if (!current) return false;
  return (
    canonicalManifest(current) === canonicalManifest(manifest) && current.signature === manifest.signature
  );
}
