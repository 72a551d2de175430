/**
 * The orchestration state machine: one transition table. Every change goes through `transition`,
 * which rejects (throws) anything the table does not list, so a bug shows up loudly instead of as
 * a silently odd state. HALTED needs a human; only a changed desired state (new version or retry)
 * leaves it.
 */
export const STATES = [
  'IDLE',
  'DOWNLOADING',
  'WAITING_WINDOW',
  'INSTALLING',
  'REBOOTING',
  'VERIFYING',
  'COMMITTED',
  'ROLLING_BACK',
  'ROLLED_BACK',
  'FAILED',
  'HALTED',
] as const;
export type State = (typeof STATES)[number];

/** Terminal for one run: the next run starts only when the desired state changes. */
export const RUN_ENDS: readonly State[] = ['COMMITTED', 'ROLLED_BACK', 'FAILED', 'HALTED'];

const ANY_END = ['IDLE', 'DOWNLOADING'] as const;

export const TRANSITIONS: Readonly<Record<State, readonly State[]>> = {
  // A desired update arrives: stage it at once.
  IDLE: ['DOWNLOADING'],
  DOWNLOADING: ['WAITING_WINDOW', 'FAILED', 'IDLE', 'DOWNLOADING'],
  // A window with enough time left opens (or the desired state is withdrawn / replaced).
  WAITING_WINDOW: ['INSTALLING', 'IDLE', 'DOWNLOADING', 'FAILED'],
  INSTALLING: ['REBOOTING', 'FAILED'],
  // After the restart: booted the new slot (VERIFYING), or the loader fell back (ROLLED_BACK).
  REBOOTING: ['VERIFYING', 'ROLLED_BACK', 'HALTED', 'FAILED'],
  // The trial: pass -> COMMITTED, fail -> ROLLING_BACK (the one automatic fallback of the run).
  VERIFYING: ['COMMITTED', 'ROLLING_BACK', 'HALTED'],
  // Back on the old slot: healthy -> ROLLED_BACK, unhealthy too -> HALTED (no second fallback).
  ROLLING_BACK: ['ROLLED_BACK', 'HALTED'],
  COMMITTED: [...ANY_END],
  ROLLED_BACK: [...ANY_END],
  FAILED: [...ANY_END],
  HALTED: [...ANY_END],
};

export class IllegalTransition extends Error {
  constructor(
    readonly from: State,
    readonly to: State,
  ) {
    super(`illegal orchestration transition ${from} -> ${to}`);
  }
}

export function canTransition(from: State, to: State): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Checks one transition against the table; returns the new state or throws IllegalTransition. */
export function transition(from: State, to: State): State {
  if (!canTransition(from, to)) throw new IllegalTransition(from, to);
  return to;
}

/** What a run is about: a version at a retry count. A changed key is a new run. */
export interface RunKey {
  version: string;
  retry: number;
}

export const sameRun = (a: RunKey | undefined, b: RunKey | undefined): boolean =>
  a !== undefined && b !== undefined && a.version === b.version && a.retry === b.retry;

/**
 * Should a desired update start a new run? Not when it is the run that just ended (a version that
 * rolled back is not retried until the desired state changes: another version, or retry bumped),
 * and not when that version already runs (committed).
 */
export function shouldStartRun(desired: RunKey, current: RunKey | undefined): boolean {
  return !sameRun(desired, current);
}
