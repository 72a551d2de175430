/**
 * What the orchestrator knows, as typed values: the machine's state, the run under way, the desired
 * update (validated once, when it arrived), the update agent's last reported status and the history.
 * `decide` reads and returns it; the state store persists it (write-fsync-rename) before any effect.
 */
import type { FailureReason, UpdateState } from '@outpost/contracts';
import type { Desired, Interval } from '@outpost/update-domain';
import type { State } from './orchestration-state.js';

export interface RunRecord {
  version: string;
  retry: number;
  startedAt: number;
  endedAt?: number;
  windowsWaited: number;
  downloadMs: number;
  waitMs: number;
  installMs: number;
  verifyMs: number;
  result?: State;
  reason: string;
  /** The rollout lease this run holds (from install to the end of the run). */
  lease?: { group: string; slot: number };
  /**
   * Wall time cmd.rollback was first requested: the old slot is judged only in a boot after it (not
   * moved by a repeated request: the reboot may have happened while a stale status was on its way).
   */
  rollbackAt?: number;
  /** Wall time the current phase began (for the durations above). */
  phaseAt: number;
  /** Wall time of the last command to the update agent (a repeat waits a status poll interval). */
  askedAt?: number;
  /** The health trial passed (reason: its warnings); cmd.commit is asked until the update agent commits. */
  passed?: string;
  /** The previous slot's health is being judged (after a fallback or a rollback). */
  judgingOldSlot?: boolean;
  /**
   * When the update agent entered its newest DOWNLOADING/DOWNLOADED state for this run (its clock):
   * a FAILED it entered before is the superseded run's (aborted), not this one's.
   */
  downloadSince?: number;
}

/** The update agent's status, as far as the orchestrator's decisions need it. */
export interface UpdateView {
  state: UpdateState;
  version: string;
  activeSlot: string;
  targetSlot: string;
  reason: FailureReason;
  detail: string;
  /** When the update agent entered this state (its wall clock, ms; 0: not said). */
  since: number;
}

export interface OrchestratorRecord {
  state: State;
  since: number;
  detail: string;
  run?: RunRecord;
  /** The last good desired update (a rejected one never replaces it). */
  desired?: Desired;
  /** The desired update the current run follows: its windows and health policy rule the run. */
  runDesired?: Desired;
  /** The window the run waits for or installs in. */
  window?: Interval;
  /** The update agent's last reported status (its evt.state, a command reply or a status poll). */
  update?: UpdateView;
  /** Why the newest desired update was rejected ('' or absent: it was not). */
  rejected?: string;
  history: RunRecord[];
}

export const initialRecord = (now: number): OrchestratorRecord => ({
  state: 'IDLE',
  since: now,
  detail: '',
  history: [],
});
