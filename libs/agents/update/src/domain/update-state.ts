/**
 * The platform-update state machine, as one table: which state may follow which, why a run fails,
 * and how each state reads in the Open Edge Platform update agent's status names. Every transition
 * goes through `checkTransition`; anything not in the table is rejected (and the caller logs it).
 */
import { FAILURE_REASON_NAMES, type FailureReasonName } from '@outpost/contracts';

export const STATES = [
  'IDLE',
  'DOWNLOADING',
  'DOWNLOADED',
  'INSTALLING',
  'INSTALLED',
  'REBOOTING',
  'VERIFYING',
  'COMMITTED',
  'ROLLED_BACK',
  'FAILED',
] as const;
export type StateName = (typeof STATES)[number];

/** Why an update is FAILED or ROLLED_BACK: the kebab-case names of contracts' one FailureReason table. */
export const REASONS = FAILURE_REASON_NAMES;
export type Reason = FailureReasonName;

/** The steps of INSTALLING, in order; each is persisted before its side effect. */
export const INSTALL_STEPS = ['invalidate', 'write', 'verify', 'boot', 'entry', 'oneshot'] as const;
export type InstallStep = (typeof INSTALL_STEPS)[number];

/** Where a new update may start from: nothing in flight, nothing waiting for a reboot or a verdict. */
const STARTABLE: StateName[] = ['IDLE', 'DOWNLOADED', 'COMMITTED', 'ROLLED_BACK', 'FAILED'];

export const TRANSITIONS: Readonly<Record<StateName, readonly StateName[]>> = {
  IDLE: ['DOWNLOADING', 'FAILED'],
  DOWNLOADING: ['DOWNLOADED', 'FAILED'],
  DOWNLOADED: ['INSTALLING', 'DOWNLOADING', 'FAILED'],
  INSTALLING: ['INSTALLED', 'FAILED'],
  INSTALLED: ['REBOOTING', 'FAILED'],
  // INSTALLED again: the agent restarted but the machine did not (the reboot never happened).
  REBOOTING: ['VERIFYING', 'ROLLED_BACK', 'INSTALLED', 'FAILED'],
  VERIFYING: ['COMMITTED', 'ROLLED_BACK', 'FAILED'],
  COMMITTED: ['DOWNLOADING', 'FAILED'],
  ROLLED_BACK: ['DOWNLOADING', 'FAILED'],
  // FAILED -> FAILED: a later refusal (e.g. another bad manifest) replaces the reason.
  FAILED: ['DOWNLOADING', 'FAILED'],
};

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly from: StateName,
    readonly to: StateName,
  ) {
    super(
      `illegal update transition ${from} -> ${to} (allowed from ${from}: ${TRANSITIONS[from].join(', ')})`,
    );
  }
}

export function canTransition(from: StateName, to: StateName): boolean {
  return TRANSITIONS[from].includes(to);
}

export function checkTransition(from: StateName, to: StateName): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** States from which cmd.download may start a new update. */
export function canStartUpdate(state: StateName): boolean {
  return STARTABLE.includes(state);
}

/** States in which the agent resumes work when it starts (and counts its starts). */
export function resumesWork(state: StateName): boolean {
  return state === 'DOWNLOADING' || state === 'INSTALLING';
}

/** One more start in the same step: a restart loop once `starts` exceeds `maxStarts`. */
export function isRestartLoop(starts: number, maxStarts: number): boolean {
  return starts > maxStarts;
}

export type OepStatusName = 'UP_TO_DATE' | 'DOWNLOADING' | 'DOWNLOADED' | 'STARTED' | 'UPDATED' | 'FAILED';

/** The Open Edge Platform update agent's status of each state. */
export const OEP_STATUS: Readonly<Record<StateName, OepStatusName>> = {
  IDLE: 'UP_TO_DATE',
  DOWNLOADING: 'DOWNLOADING',
  DOWNLOADED: 'DOWNLOADED',
  INSTALLING: 'STARTED',
  INSTALLED: 'STARTED',
  REBOOTING: 'STARTED',
  VERIFYING: 'STARTED',
  COMMITTED: 'UPDATED',
  ROLLED_BACK: 'FAILED',
  FAILED: 'FAILED',
};
