/**
 * The agent's status follows the cluster: READY only when nothing is asked (no cluster, none
 * installed) or the installed cluster passes its readiness probe; otherwise DEGRADED with reasons.
 */
import { ClusterReadiness, ClusterState } from '@outpost/contracts';
import { describeSpec } from './cluster-spec.js';
import type { ClusterMachine } from './cluster-machine.js';

export interface Observation {
  readonly readiness: ClusterReadiness;
  readonly readinessDetail: string;
  /** Why the latest desired state was rejected, or empty. */
  readonly rejected: string;
}

export function statusReasons(m: ClusterMachine, o: Observation): string[] {
  const reasons: string[] = [];
  if (o.rejected) reasons.push(`desired state rejected: ${o.rejected}`);
  switch (m.state) {
    case ClusterState.INACTIVE:
      if (m.desired?.presence === 'present') reasons.push('cluster not installed yet');
      break;
    case ClusterState.INSTALLING:
      reasons.push(`installing ${describeSpec(m.target)}`);
      break;
    case ClusterState.UNINSTALLING:
      reasons.push(`uninstalling ${m.target?.distribution ?? 'cluster'}`);
      break;
    case ClusterState.ERROR:
      reasons.push(
        `${m.failed ?? 'operation'} of ${m.target?.distribution ?? 'cluster'} failed ` +
          `(${m.attempts} attempt${m.attempts === 1 ? '' : 's'}): ${m.lastError}`,
      );
      break;
    case ClusterState.ACTIVE:
      if (o.readiness === ClusterReadiness.NOT_READY) {
        reasons.push(`cluster not ready${o.readinessDetail ? `: ${o.readinessDetail}` : ''}`);
      } else if (o.readiness !== ClusterReadiness.READY) {
        reasons.push('cluster readiness not probed yet');
      }
      break;
  }
  return reasons;
}
