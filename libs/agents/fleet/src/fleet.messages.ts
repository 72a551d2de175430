/** Between the domain's records and the contract's messages: nothing but field mapping. */
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import {
  FleetNodeSchema,
  RolloutSchema,
  RolloutState as RolloutStateEnum,
  TargetPhase,
  type FleetNode,
  type Rollout,
  type RolloutStrategy,
} from '@outpost/contracts';
import { effectiveLabels, isOnline, type InventoryRecord } from './domain/inventory.js';
import {
  DEFAULT_DEADLINE_MS,
  type Phase,
  type RolloutRecord,
  type RolloutState,
  type Strategy,
} from './domain/rollout.js';

const STATE: Record<RolloutState, RolloutStateEnum> = {
  RUNNING: RolloutStateEnum.RUNNING,
  PAUSED: RolloutStateEnum.PAUSED,
  COMPLETED: RolloutStateEnum.COMPLETED,
  ABORTED: RolloutStateEnum.ABORTED,
};
const PHASE: Record<Phase, TargetPhase> = {
  WAITING: TargetPhase.WAITING,
  ASSIGNED: TargetPhase.ASSIGNED,
  SUCCEEDED: TargetPhase.SUCCEEDED,
  FAILED: TargetPhase.FAILED,
  TIMED_OUT: TargetPhase.TIMED_OUT,
};
const ts = (ms: number | undefined) => (ms === undefined ? undefined : timestampFromMs(ms));

export function nodeMessage(r: InventoryRecord, now: number, staleMs: number): FleetNode {
  return create(FleetNodeSchema, {
    nodeId: r.nodeId,
    labels: effectiveLabels(r),
    nodeLabels: { ...r.nodeLabels },
    labelOverrides: { ...r.overrides },
    health: r.health,
    runningVersion: r.runningVersion,
    desiredVersion: r.desiredVersion,
    updateState: r.updateState,
    updateVersion: r.updateVersion,
    updateDetail: r.updateDetail,
    lastSeen: r.lastSeen ? timestampFromMs(r.lastSeen) : undefined,
    online: isOnline(r, now, staleMs),
  });
}

export function strategyFromMessage(s: RolloutStrategy | undefined): Strategy {
  return {
    canaryCount: s?.canaryCount ?? 0,
    batches: (s?.batches ?? []).map((b) => ({
      count: b.count || undefined,
      percent: b.percent || undefined,
    })),
    successThresholdPercent: s?.successThresholdPercent || 100,
    groupBy: s?.groupBy ?? '',
    maxUnavailable: s?.maxUnavailable ?? 0,
    nodeDeadlineMs: s?.nodeDeadlineSeconds ? s.nodeDeadlineSeconds * 1000 : DEFAULT_DEADLINE_MS,
  };
}

/** Targets in one message at most (a NATS message is at most 1 MiB by default). */
export const TARGET_PAGE = 1000;

/** The rollout, with the targets from `offset` (at most `limit`; 0: none). */
export function rolloutMessage(r: RolloutRecord, offset = 0, limit = TARGET_PAGE): Rollout {
  const s = r.strategy;
  const counts: Record<string, number> = {};
  for (const t of r.targets) counts[t.phase] = (counts[t.phase] ?? 0) + 1;
  return create(RolloutSchema, {
    id: r.id,
    version: r.version,
    selector: r.selector,
    strategy: {
      canaryCount: s.canaryCount,
      batches: s.batches.map((b) => ({ count: b.count ?? 0, percent: b.percent ?? 0 })),
      successThresholdPercent: s.successThresholdPercent,
      groupBy: s.groupBy,
      maxUnavailable: s.maxUnavailable,
      nodeDeadlineSeconds: Math.round(s.nodeDeadlineMs / 1000),
    },
    state: STATE[r.state],
    batch: r.batch,
    batchCount: r.batchCount,
    reason: r.reason,
    targets: r.targets.slice(offset, offset + Math.min(limit, TARGET_PAGE)).map((t) => ({
      nodeId: t.nodeId,
      batch: t.batch,
      phase: PHASE[t.phase],
      group: t.group,
      assignedAt: ts(t.assignedAt),
      doneAt: ts(t.doneAt),
      written: t.written,
      detail: t.detail,
    })),
    targetTotal: r.targets.length,
    phaseCounts: counts,
    createdAt: ts(r.createdAt),
    updatedAt: ts(r.updatedAt),
  });
}
