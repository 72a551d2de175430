/**
 * The health trial after a reboot into a new slot (greenboot-like): the node must be HEALTHY and
 * every required check pass within the deadline (measured on a monotonic clock, so a wall-clock
 * step after boot cannot shorten or extend it). Wanted checks are only reported. A check marked
 * offNode depends on something outside the node: its failure never fails the device unless the
 * policy says so. Pure: the agent gathers the observations and asks for a verdict.
 */
import type { CheckSpec } from '@outpost/update-domain';

export type { CheckSpec };

export type CheckOutcome = 'pass' | 'fail' | 'timeout';

export interface CheckResult {
  name: string;
  outcome: CheckOutcome;
  detail?: string;
}

export interface TrialObservation {
  /** Monotonic ms since the trial began. */
  elapsedMs: number;
  deadlineMs: number;
  /** The node agent's verdict; undefined when it did not answer. */
  nodeHealthy: boolean | undefined;
  nodeReasons: string[];
  checks: readonly CheckSpec[];
  results: readonly CheckResult[];
  /** Count offNode failures as device failures (default false). */
  offNodeCounts?: boolean;
}

export type TrialVerdict =
  | { verdict: 'pass'; warnings: string[] }
  | { verdict: 'fail'; reasons: string[] }
  | { verdict: 'pending'; reasons: string[] };

export function judgeTrial(o: TrialObservation): TrialVerdict {
  const reasons: string[] = [];
  const warnings: string[] = [];
  if (o.nodeHealthy !== true)
    reasons.push(
      o.nodeHealthy === undefined
        ? 'node agent did not answer cmd.health'
        : `node UNHEALTHY: ${o.nodeReasons.join('; ') || 'no reason given'}`,
    );
  for (const check of o.checks) {
    const r = o.results.find((x) => x.name === check.name);
    if (r?.outcome === 'pass') continue;
    const what = r
      ? `check ${check.name} ${r.outcome === 'timeout' ? `timed out after ${check.timeoutSeconds} s` : 'failed'}${r.detail ? `: ${r.detail}` : ''}`
      : `check ${check.name} not run`;
    if (!check.required || (check.offNode && !o.offNodeCounts))
      warnings.push(check.offNode ? `${what} (off-node, not a device failure)` : what);
    else reasons.push(what);
  }
  if (reasons.length === 0) return { verdict: 'pass', warnings };
  if (o.elapsedMs >= o.deadlineMs)
    return {
      verdict: 'fail',
      reasons: [`deadline of ${Math.round(o.deadlineMs / 1000)} s passed`, ...reasons],
    };
  return { verdict: 'pending', reasons };
}

/** After the trial failed on the new slot: what the old slot's health decides (one fallback per run). */
export function afterRollback(oldSlotHealthy: boolean): 'ROLLED_BACK' | 'HALTED' {
  return oldSlotHealthy ? 'ROLLED_BACK' : 'HALTED';
}
