/**
 * What to do next, from the persisted machine and the last valid desired state. Pure: the service
 * runs the answer. An INSTALLING or UNINSTALLING machine at start means the agent stopped mid-step
 * (kill -9, power loss, a stop during a long install): the same step is run again, which the
 * installers must tolerate (k3s' and rke2's install scripts and uninstallers are idempotent).
 */
import { ClusterState } from '@outpost/contracts';
import { sameSpec, type ClusterSpec, type DesiredState } from './cluster-spec.js';
import type { ClusterMachine } from './cluster-machine.js';

export type NextAction =
  | { kind: 'none' }
  | { kind: 'wait'; until: number }
  | { kind: 'install'; spec: ClusterSpec; resume: boolean }
  | { kind: 'uninstall'; spec: ClusterSpec; resume: boolean };

const NONE: NextAction = { kind: 'none' };

export function nextAction(m: ClusterMachine, now: number, retryNow = false): NextAction {
  const desired = m.desired;
  switch (m.state) {
    case ClusterState.INSTALLING:
      return m.target ? { kind: 'install', spec: m.target, resume: true } : NONE;
    case ClusterState.UNINSTALLING:
      return m.target ? { kind: 'uninstall', spec: m.target, resume: true } : NONE;
    case ClusterState.INACTIVE:
      return desired?.presence === 'present' ? { kind: 'install', spec: desired.spec, resume: false } : NONE;
    case ClusterState.ACTIVE:
      return towards(desired, m.installed, false);
    case ClusterState.ERROR:
      if (!retryNow && m.nextRetryAt !== undefined && now < m.nextRetryAt) {
        return { kind: 'wait', until: m.nextRetryAt };
      }
      return towards(desired, m.installed ?? m.target, true);
    default:
      return NONE;
  }
}

/** From an installed (or possibly installed) spec towards the desired state. */
function towards(
  desired: DesiredState | undefined,
  installed: ClusterSpec | undefined,
  afterError: boolean,
): NextAction {
  if (!desired) return NONE;
  if (desired.presence === 'absent') {
    return installed ? { kind: 'uninstall', spec: installed, resume: false } : NONE;
  }
  if (installed && installed.distribution !== desired.spec.distribution) {
    // Another distribution: remove the old one first; the INACTIVE state then installs the new one.
    return { kind: 'uninstall', spec: installed, resume: false };
  }
  if (afterError || !sameSpec(installed, desired.spec)) {
    return { kind: 'install', spec: desired.spec, resume: false };
  }
  return NONE;
}
