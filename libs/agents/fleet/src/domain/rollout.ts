/**
 * The rollout controller, pure: `planRollout` fixes a rollout's nodes and batches when it is declared,
 * `decide(rollout, observations, now)` says what happens next — outcomes recorded, deadlines passed,
 * the batch paused past its failure threshold, nodes assigned within the disruption budget, the next
 * batch started — and which effects the service carries out (write a node's desired update). `operate`
 * applies an operator's pause, resume or abort through one transition table.
 *
 * Idempotent by construction: deciding twice on the same observations changes nothing the second time,
 * and a write effect is repeated until the service records that it landed (`recordWrites`).
 */
import { isLabelKey, matches, parseSelector } from './selector.js';

export type RolloutState = 'RUNNING' | 'PAUSED' | 'COMPLETED' | 'ABORTED';
export type Phase = 'WAITING' | 'ASSIGNED' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
export type Action = 'pause' | 'resume' | 'abort';

export interface BatchSize {
  count?: number;
  percent?: number;
}

export interface Strategy {
  canaryCount: number;
  batches: readonly BatchSize[];
  successThresholdPercent: number;
  groupBy: string;
  /** 0: no limit. */
  maxUnavailable: number;
  nodeDeadlineMs: number;
}

export interface Target {
  nodeId: string;
  batch: number;
  phase: Phase;
  /** The value of the groupBy label ('' without one). */
  group: string;
  assignedAt?: number;
  doneAt?: number;
  /** The desired update reached the node's domain. */
  written: boolean;
  detail: string;
}

export interface RolloutRecord {
  id: string;
  version: string;
  selector: string;
  strategy: Strategy;
  state: RolloutState;
  batch: number;
  batchCount: number;
  reason: string;
  targets: readonly Target[];
  /** Failures of a batch an operator accepted by resuming it (batch index → count). */
  tolerated: Readonly<Record<number, number>>;
  createdAt: number;
  updatedAt: number;
  /** The declared desired update (contract JSON), opaque to the controller. */
  desired?: string;
}

/** What a node reported for the rollout's version (undefined: nothing yet). */
export interface Observation {
  outcome: 'succeeded' | 'failed';
  detail: string;
}
export type Observations = ReadonlyMap<string, Observation>;

export type Effect = { kind: 'write-desired'; nodeId: string; group: string };

export interface Decision {
  next: RolloutRecord;
  effects: Effect[];
  changed: boolean;
}

export interface InventoryNode {
  nodeId: string;
  labels: Readonly<Record<string, string>>;
}

export const DEFAULT_DEADLINE_MS = 86_400_000;
const DONE: readonly Phase[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT'];
const FAILED: readonly Phase[] = ['FAILED', 'TIMED_OUT'];

/** One transition table for every state change, internal or an operator's. */
const TRANSITIONS: Readonly<Record<RolloutState, readonly RolloutState[]>> = {
  RUNNING: ['PAUSED', 'COMPLETED', 'ABORTED'],
  PAUSED: ['RUNNING', 'ABORTED'],
  COMPLETED: [],
  ABORTED: [],
};

const ACTIONS: Readonly<Record<Action, RolloutState>> = {
  pause: 'PAUSED',
  resume: 'RUNNING',
  abort: 'ABORTED',
};

export class IllegalTransition extends Error {
  override readonly name = 'IllegalTransition';
}

function transition(r: RolloutRecord, to: RolloutState, reason: string, now: number): RolloutRecord {
  if (!TRANSITIONS[r.state].includes(to))
    throw new IllegalTransition(`rollout ${r.id}: ${r.state} → ${to} is not a transition`);
  return { ...r, state: to, reason, updatedAt: now };
}

// ---- declaring --------------------------------------------------------------------------------------

export type Planned =
  { ok: true; rollout: RolloutRecord } | { ok: false; problem: string; notFound?: boolean };

function strategyProblem(s: Strategy): string | undefined {
  if (
    !Number.isInteger(s.successThresholdPercent) ||
    s.successThresholdPercent < 1 ||
    s.successThresholdPercent > 100
  )
    return `strategy.successThresholdPercent ${s.successThresholdPercent} is not 1..100`;
  for (const [i, b] of s.batches.entries()) {
    const count = b.count ?? 0;
    const percent = b.percent ?? 0;
    if (count > 0 === percent > 0) return `strategy.batches[${i}] needs exactly one of count or percent`;
    if (percent > 100) return `strategy.batches[${i}].percent ${percent} is not 1..100`;
  }
  if (s.groupBy && !isLabelKey(s.groupBy)) return `strategy.groupBy "${s.groupBy}" is not a label key`;
  if (s.groupBy && s.maxUnavailable === 0) return 'strategy.groupBy needs maxUnavailable >= 1';
  if (s.nodeDeadlineMs <= 0) return 'strategy.nodeDeadlineSeconds must be positive';
  return undefined;
}

/** Canary-labelled nodes first (canary=true), then by node id. */
function order(nodes: readonly InventoryNode[]): InventoryNode[] {
  const canary = (n: InventoryNode) => (n.labels.canary === 'true' ? 0 : 1);
  return [...nodes].sort((a, b) => canary(a) - canary(b) || a.nodeId.localeCompare(b.nodeId));
}

/** The batch sizes over `total` nodes: canary, each declared batch, then whatever is left. */
export function batchSizes(total: number, s: Strategy): number[] {
  const sizes: number[] = [];
  let left = total;
  const take = (n: number) => {
    const size = Math.min(n, left);
    if (size > 0) sizes.push(size);
    left -= size;
  };
  take(s.canaryCount);
  for (const b of s.batches) take(b.count ? b.count : Math.ceil(((b.percent ?? 0) * total) / 100));
  take(left);
  return sizes;
}

export function planRollout(
  id: string,
  version: string,
  selectorText: string,
  strategy: Strategy,
  inventory: readonly InventoryNode[],
  now: number,
): Planned {
  const parsed = parseSelector(selectorText);
  if (!parsed.ok) return { ok: false, problem: parsed.problem };
  const problem = strategyProblem(strategy);
  if (problem) return { ok: false, problem };
  const chosen = order(inventory.filter((n) => matches(parsed.selector, n.labels)));
  if (chosen.length === 0)
    return { ok: false, problem: `selector "${selectorText}" matches no node`, notFound: true };
  const sizes = batchSizes(chosen.length, strategy);
  const targets: Target[] = [];
  let at = 0;
  sizes.forEach((size, batch) => {
    for (const n of chosen.slice(at, at + size)) {
      const group = strategy.groupBy ? (n.labels[strategy.groupBy] ?? '') : '';
      targets.push({ nodeId: n.nodeId, batch, phase: 'WAITING', group, written: false, detail: '' });
    }
    at += size;
  });
  return {
    ok: true,
    rollout: {
      id,
      version,
      selector: selectorText,
      strategy,
      state: 'RUNNING',
      batch: 0,
      batchCount: sizes.length,
      reason: '',
      targets,
      tolerated: {},
      createdAt: now,
      updatedAt: now,
    },
  };
}

// ---- the controller ---------------------------------------------------------------------------------

function observe(t: Target, obs: Observation | undefined, deadlineMs: number, now: number): Target {
  if (
    obs &&
    (t.phase === 'ASSIGNED' ||
      t.phase === 'TIMED_OUT' ||
      (t.phase === 'FAILED' && obs.outcome === 'succeeded'))
  ) {
    const phase: Phase = obs.outcome === 'succeeded' ? 'SUCCEEDED' : 'FAILED';
    if (phase !== t.phase) return { ...t, phase, doneAt: now, detail: obs.detail };
  }
  if (t.phase === 'ASSIGNED' && t.assignedAt !== undefined && now >= t.assignedAt + deadlineMs)
    return {
      ...t,
      phase: 'TIMED_OUT',
      doneAt: now,
      detail: `no outcome within ${Math.round(deadlineMs / 1000)} s`,
    };
  return t;
}

/** How many failures the batch may have and still pass the threshold. */
export function allowedFailures(batchSize: number, thresholdPercent: number): number {
  return batchSize - Math.ceil((batchSize * thresholdPercent) / 100);
}

function batchTally(r: RolloutRecord, batch: number) {
  const of = r.targets.filter((t) => t.batch === batch);
  return {
    size: of.length,
    failed: of.filter((t) => FAILED.includes(t.phase)).length,
    done: of.every((t) => DONE.includes(t.phase)),
  };
}

/** Assigns waiting nodes of the current batch while their group has room in the disruption budget. */
function assign(r: RolloutRecord, now: number): RolloutRecord {
  const max = r.strategy.maxUnavailable;
  const busy = new Map<string, number>();
  for (const t of r.targets) if (t.phase === 'ASSIGNED') busy.set(t.group, (busy.get(t.group) ?? 0) + 1);
  let changed = false;
  const targets = r.targets.map((t) => {
    if (t.batch !== r.batch || t.phase !== 'WAITING') return t;
    const inGroup = busy.get(t.group) ?? 0;
    if (max > 0 && inGroup >= max) return t;
    busy.set(t.group, inGroup + 1);
    changed = true;
    return { ...t, phase: 'ASSIGNED' as const, assignedAt: now, written: false, detail: '' };
  });
  return changed ? { ...r, targets, updatedAt: now } : r;
}

export function decide(r: RolloutRecord, observations: Observations, now: number): Decision {
  let next: RolloutRecord = r;
  const observed = r.targets.map((t) =>
    observe(t, observations.get(t.nodeId), r.strategy.nodeDeadlineMs, now),
  );
  if (observed.some((t, i) => t !== r.targets[i])) next = { ...next, targets: observed, updatedAt: now };

  while (next.state === 'RUNNING') {
    const tally = batchTally(next, next.batch);
    const allowed =
      allowedFailures(tally.size, next.strategy.successThresholdPercent) + (next.tolerated[next.batch] ?? 0);
    if (tally.failed > allowed) {
      next = transition(
        next,
        'PAUSED',
        `batch ${next.batch}: ${tally.failed} of ${tally.size} nodes failed (success threshold ${next.strategy.successThresholdPercent}%)`,
        now,
      );
      break;
    }
    if (!tally.done) {
      next = assign(next, now);
      break;
    }
    if (next.batch + 1 >= next.batchCount) {
      next = transition(next, 'COMPLETED', `all ${next.batchCount} batches passed`, now);
      break;
    }
    next = { ...next, batch: next.batch + 1, updatedAt: now };
  }

  const effects: Effect[] =
    next.state === 'ABORTED'
      ? []
      : next.targets
          .filter((t) => t.phase === 'ASSIGNED' && !t.written)
          .map((t) => ({ kind: 'write-desired', nodeId: t.nodeId, group: t.group }));
  return { next, effects, changed: next !== r };
}

/** The service wrote these nodes' desired update into their domains (one pass, whatever the count). */
export function recordWrites(r: RolloutRecord, nodeIds: ReadonlySet<string>, now: number): RolloutRecord {
  if (nodeIds.size === 0) return r;
  return {
    ...r,
    updatedAt: now,
    targets: r.targets.map((t) =>
      nodeIds.has(t.nodeId) && t.phase === 'ASSIGNED' ? { ...t, written: true } : t,
    ),
  };
}

/** An operator's pause, resume or abort; a resume accepts the current batch's failures so far. */
export function operate(r: RolloutRecord, action: Action, now: number): RolloutRecord {
  const next = transition(r, ACTIONS[action], `${action} by operator`, now);
  if (action !== 'resume') return next;
  const { failed } = batchTally(r, r.batch);
  return { ...next, reason: '', tolerated: { ...r.tolerated, [r.batch]: failed } };
}

/** The rollout group a node's lease belongs to (a subject token): "<groupBy>-<value>", or the rollout id. */
export function leaseGroup(r: Pick<RolloutRecord, 'id' | 'strategy'>, group: string): string {
  const raw = r.strategy.groupBy ? `${r.strategy.groupBy}-${group || 'none'}` : r.id;
  return raw.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
}
