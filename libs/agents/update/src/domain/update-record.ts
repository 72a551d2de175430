/**
 * The durable record of the update in progress (or the last one): the state with its reason, the
 * step inside it, the verified manifest, the slots involved and the start counter. `enter` is the
 * only way to change state; it checks the transition table and resets the step and start counter.
 */
import type { UpdateManifest } from '@outpost/contracts';
import { checkTransition, type Reason, type StateName } from './update-state.js';

export interface UpdateRecord {
  state: StateName;
  reason?: Reason;
  detail: string;
  /** ISO time the state was entered. */
  since: string;
  /** Step inside the state (INSTALLING: invalidate, write, verify, boot, entry, oneshot). */
  step?: string;
  /** Agent starts counted since the state was entered (restart-loop detection). */
  starts: number;
  /** The verified manifest (stored as its proto3 JSON, so the file reads like the wire; decoded once on load). */
  manifest?: UpdateManifest;
  /** The slot the update came from (the one running when it started), and the one it writes. */
  sourceSlot?: string;
  targetSlot?: string;
  /** The boot entry id of the target slot (e.g. outpost-b.conf). */
  entryId?: string;
  /** The install of this update began: the target slot's bytes may have changed. */
  installStarted?: boolean;
  /** Wall time (ms) the reboot into the new slot was requested. */
  rebootRequestedAt?: number;
  /** ROLLED_BACK by command: the reboot into the previous slot is still to happen. */
  rebootPending?: boolean;
  /** Reboots into the previous slot requested for this rollback (counted before each one). */
  rollbackReboots?: number;
  /** Wall time (ms) of the last of them: a start in the same boot retries it without counting. */
  rollbackRebootAt?: number;
}

export const RECORD_VERSION = 1;

export function initialRecord(now: Date): UpdateRecord {
  return { state: 'IDLE', detail: '', since: now.toISOString(), starts: 0 };
}

export interface Entering {
  reason?: Reason;
  detail?: string;
  step?: string;
}

/** The record in state `to` (throws IllegalTransitionError when the table forbids it). */
export function enter(
  record: UpdateRecord,
  to: StateName,
  now: Date,
  change: Entering & Partial<Omit<UpdateRecord, 'state' | 'since' | 'starts'>> = {},
): UpdateRecord {
  checkTransition(record.state, to);
  const keepsReason = to === 'FAILED' || to === 'ROLLED_BACK';
  return {
    ...record,
    ...change,
    state: to,
    reason: keepsReason ? change.reason : undefined,
    detail: change.detail ?? '',
    step: change.step,
    since: now.toISOString(),
    starts: 0,
  };
}

/**
 * The same state, at a new step (persisted before the step's side effect). The start counter is
 * kept: a resumed install starts again from its first step, so a per-step counter would never trip.
 */
export function atStep(record: UpdateRecord, step: string): UpdateRecord {
  return { ...record, step };
}
