/**
 * The cluster state machine: one transition table, and one function that applies a named transition
 * after asserting the source state. Every state change of the agent goes through `applyTransition`,
 * so an illegal one is rejected (and the caller logs it) instead of corrupting the persisted state.
 *
 *   INACTIVE --install--> INSTALLING --installSucceeded--> ACTIVE --uninstall--> UNINSTALLING
 *   UNINSTALLING --uninstallSucceeded--> INACTIVE
 *   INSTALLING --installFailed--> ERROR, UNINSTALLING --uninstallFailed--> ERROR
 *   ERROR --install--> INSTALLING (retry), ERROR --uninstall--> UNINSTALLING (retry, or now absent)
 *   ACTIVE --install--> INSTALLING (same distribution, new role or join parameters)
 */
import { ClusterState } from '@outpost/contracts';
import type { ClusterSpec, DesiredState } from './cluster-spec.js';

export type TransitionName =
  'install' | 'installSucceeded' | 'installFailed' | 'uninstall' | 'uninstallSucceeded' | 'uninstallFailed';

export const TRANSITIONS: Readonly<
  Record<TransitionName, { readonly from: readonly ClusterState[]; readonly to: ClusterState }>
> = {
  install: {
    from: [ClusterState.INACTIVE, ClusterState.ACTIVE, ClusterState.ERROR],
    to: ClusterState.INSTALLING,
  },
  installSucceeded: { from: [ClusterState.INSTALLING], to: ClusterState.ACTIVE },
  installFailed: { from: [ClusterState.INSTALLING], to: ClusterState.ERROR },
  uninstall: { from: [ClusterState.ACTIVE, ClusterState.ERROR], to: ClusterState.UNINSTALLING },
  uninstallSucceeded: { from: [ClusterState.UNINSTALLING], to: ClusterState.INACTIVE },
  uninstallFailed: { from: [ClusterState.UNINSTALLING], to: ClusterState.ERROR },
};

/** Whether any transition of the table leads from `from` to `to`. */
export function isLegal(from: ClusterState, to: ClusterState): boolean {
  return Object.values(TRANSITIONS).some((t) => t.to === to && t.from.includes(from));
}

/** The persisted machine. Wall-clock times in epoch ms (they must survive a restart). */
export interface ClusterMachine {
  readonly state: ClusterState;
  /** When the current state was entered. */
  readonly since: number;
  /** Bumped on every transition. */
  readonly sequence: number;
  /** What the running or last operation is for. */
  readonly target?: ClusterSpec;
  /** What may be on the node: set when an install starts, cleared when an uninstall succeeds. */
  readonly installed?: ClusterSpec;
  /** Which operation failed, in ERROR. */
  readonly failed?: 'install' | 'uninstall';
  /** Consecutive failures; reset by a success or by a new desired state. */
  readonly attempts: number;
  /** The reason of the last failure, kept after recovery for the record. */
  readonly lastError: string;
  /** When the next retry may run, in ERROR. */
  readonly nextRetryAt?: number;
  /** The last valid desired state received. */
  readonly desired?: DesiredState;
}

export function initialMachine(now: number): ClusterMachine {
  return { state: ClusterState.INACTIVE, since: now, sequence: 0, attempts: 0, lastError: '' };
}

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly transition: TransitionName,
    readonly from: ClusterState,
  ) {
    super(
      `illegal transition "${transition}" from ${ClusterState[from]} ` +
        `(allowed from ${TRANSITIONS[transition].from.map((s) => ClusterState[s]).join(', ')})`,
    );
  }
}

export type TransitionInput =
  | { name: 'install' | 'uninstall'; spec: ClusterSpec }
  | { name: 'installSucceeded' | 'uninstallSucceeded' }
  | { name: 'installFailed' | 'uninstallFailed'; error: string; retryAt: number };

/** The machine after `input`; throws IllegalTransitionError if the source state does not allow it. */
export function applyTransition(m: ClusterMachine, input: TransitionInput, now: number): ClusterMachine {
  const rule = TRANSITIONS[input.name];
  if (!rule.from.includes(m.state)) throw new IllegalTransitionError(input.name, m.state);
  const base = { ...m, state: rule.to, since: now, sequence: m.sequence + 1, nextRetryAt: undefined };
  switch (input.name) {
    case 'install':
      return { ...base, target: input.spec, installed: input.spec, failed: undefined };
    case 'uninstall':
      return { ...base, target: input.spec, failed: undefined };
    case 'installSucceeded':
      return { ...base, attempts: 0 };
    case 'uninstallSucceeded':
      return { ...base, attempts: 0, installed: undefined };
    case 'installFailed':
    case 'uninstallFailed':
      return {
        ...base,
        failed: input.name === 'installFailed' ? 'install' : 'uninstall',
        attempts: m.attempts + 1,
        lastError: input.error,
        nextRetryAt: input.retryAt,
      };
  }
}
