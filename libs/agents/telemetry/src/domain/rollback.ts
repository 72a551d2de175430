/**
 * What an apply report of the data plane means for the effective configuration. Pure: the agent
 * carries out the decision (publish, persist, status).
 */

export interface ApplyState {
  /** The generation in force (0: none yet). */
  effectiveGeneration: number;
  /** The last generation the data plane reported as applied (0: none yet). */
  lastGoodGeneration: number;
  /** The generation in force is itself a rollback (going back again would only loop). */
  effectiveIsRollback: boolean;
}

export type ApplyDecision =
  /** The report is about the generation in force and it applied: it becomes the last good one. */
  | { action: 'confirm' }
  /** The generation in force failed: publish the last good one again, as a new generation. */
  | { action: 'rollback'; to: number }
  /** The generation in force failed and there is nothing confirmed to go back to. */
  | { action: 'stuck'; reason: string }
  /** The report is about a generation that is no longer (or never was) in force: recorded only. */
  | { action: 'stale'; reason: string };

export function decideApply(state: ApplyState, report: { generation: number; ok: boolean }): ApplyDecision {
  if (report.generation !== state.effectiveGeneration)
    return {
      action: 'stale',
      reason: `generation ${report.generation} is not the one in force (${state.effectiveGeneration})`,
    };
  if (report.ok) return { action: 'confirm' };
  if (state.lastGoodGeneration === 0)
    return {
      action: 'stuck',
      reason: `generation ${report.generation} failed and no generation was ever applied`,
    };
  if (state.effectiveIsRollback)
    return {
      action: 'stuck',
      reason: `generation ${report.generation} (a rollback to the last good configuration) failed too`,
    };
  if (state.lastGoodGeneration === report.generation)
    return {
      action: 'stuck',
      reason: `generation ${report.generation} failed although it applied before; nothing older to roll back to`,
    };
  return { action: 'rollback', to: state.lastGoodGeneration };
}
