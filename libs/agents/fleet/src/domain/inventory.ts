/**
 * The fleet inventory, pure: one record per node folded from what the node publishes (heartbeat with
 * its labels and health, the orchestrator's state changes), the hub's label overrides on top, queries by
 * label selector in pages ordered by node id, and what a node's record says about one rollout's version.
 */
import { matches, type Selector } from './selector.js';
import type { Observation, RolloutRecord } from './rollout.js';

/** The orchestrator's states as the contract numbers them (outpost.orchestrator.v1.OrchestrationState). */
export const ORCH = { COMMITTED: 7, ROLLED_BACK: 9, FAILED: 10, HALTED: 11 } as const;

export interface InventoryRecord {
  nodeId: string;
  nodeLabels: Readonly<Record<string, string>>;
  overrides: Readonly<Record<string, string>>;
  /** outpost.common.v1.HealthState number (0: unknown yet). */
  health: number;
  runningVersion: string;
  desiredVersion: string;
  updateState: number;
  updateVersion: string;
  updateDetail: string;
  lastSeen: number;
}

export function emptyRecord(
  nodeId: string,
  overrides: Readonly<Record<string, string>> = {},
): InventoryRecord {
  return {
    nodeId,
    nodeLabels: {},
    overrides,
    health: 0,
    runningVersion: '',
    desiredVersion: '',
    updateState: 0,
    updateVersion: '',
    updateDetail: '',
    lastSeen: 0,
  };
}

/** The node's labels with the hub's overrides on top; an empty override hides the node's label. */
export function effectiveLabels(r: InventoryRecord): Record<string, string> {
  const out: Record<string, string> = { ...r.nodeLabels };
  for (const [k, v] of Object.entries(r.overrides)) {
    if (v === '') delete out[k];
    else out[k] = v;
  }
  return out;
}

export function applyHeartbeat(
  r: InventoryRecord,
  beat: { labels: Readonly<Record<string, string>>; health: number },
  at: number,
): InventoryRecord {
  return { ...r, nodeLabels: { ...beat.labels }, health: beat.health, lastSeen: Math.max(r.lastSeen, at) };
}

export function applyOrchestrator(
  r: InventoryRecord,
  status: { state: number; version: string; detail: string },
  at: number,
): InventoryRecord {
  return {
    ...r,
    updateState: status.state,
    updateVersion: status.version,
    updateDetail: status.detail,
    runningVersion: status.state === ORCH.COMMITTED ? status.version : r.runningVersion,
    lastSeen: Math.max(r.lastSeen, at),
  };
}

/** Any other event: the node is alive. */
export function applySeen(r: InventoryRecord, at: number): InventoryRecord {
  return at > r.lastSeen ? { ...r, lastSeen: at } : r;
}

export function isOnline(r: InventoryRecord, now: number, staleMs: number): boolean {
  return r.lastSeen > 0 && now - r.lastSeen <= staleMs;
}

/** What the node's record says about `version`: committed, or failed on it; undefined: nothing yet. */
export function outcomeFor(r: InventoryRecord | undefined, version: string): Observation | undefined {
  if (!r) return undefined;
  if (r.runningVersion === version) return { outcome: 'succeeded', detail: `committed ${version}` };
  const failed: number[] = [ORCH.ROLLED_BACK, ORCH.FAILED, ORCH.HALTED];
  if (r.updateVersion === version && failed.includes(r.updateState))
    return { outcome: 'failed', detail: r.updateDetail || `update ${version} failed` };
  return undefined;
}

export interface Page {
  records: InventoryRecord[];
  nextPageToken: string;
  total: number;
}

/** Nodes matching the selector, ordered by node id, `limit` after the node id `after`. */
export function queryInventory(
  records: Iterable<InventoryRecord>,
  selector: Selector,
  limit: number,
  after: string,
): Page {
  const all = [...records]
    .filter((r) => matches(selector, effectiveLabels(r)))
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  const start = after ? all.findIndex((r) => r.nodeId > after) : 0;
  const from = start < 0 ? all.length : start;
  const page = all.slice(from, from + limit);
  const more = from + limit < all.length;
  return { records: page, nextPageToken: more ? page[page.length - 1].nodeId : '', total: all.length };
}

/** The version each node was last given by a rollout (the newest rollout whose write reached it). */
export function desiredVersions(rollouts: Iterable<RolloutRecord>): Map<string, string> {
  const out = new Map<string, string>();
  const byAge = [...rollouts].sort((a, b) => a.createdAt - b.createdAt);
  for (const r of byAge) for (const t of r.targets) if (t.written) out.set(t.nodeId, r.version);
  return out;
}
