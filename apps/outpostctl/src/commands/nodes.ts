/**
 * `outpostctl nodes` and `outpostctl node <id>`: every node seen on the bus with its health, version,
 * slot and last heartbeat; one node's identity, hardware summary, update state and agents.
 */
import { timestampMs } from '@bufbuild/protobuf/wkt';
import {
  AgentState,
  AgentStatusSchema,
  HardwareApi,
  HealthState,
  IdentitySource,
  InventorySchema,
  kvKeys,
  NodeApi,
  NodeHealthSchema,
  NodeIdentitySchema,
  UpdateApi,
  UpdateState,
  UpdateStatusSchema,
  type AgentStatus,
  type Inventory,
  type NodeIdentity,
  type UpdateStatus,
} from '@outpost/contracts';
import { toJson as messageToJson } from '@bufbuild/protobuf';
import type { Fleet } from '../fleet.js';
import { ago, block, bytes, indent, table, writeJson } from '../output.js';
import { usage } from '../exit-codes.js';
import type { CommandContext } from './context.js';

export interface NodeRow {
  nodeId: string;
  health: string;
  /** The node agent's status is older than three of its intervals: the node is probably gone. */
  stale: boolean;
  version: string;
  slot: string;
  lastHeartbeat?: string;
  /** Micro services of the node answering now. */
  liveAgents: number;
}

const ms = (t: Parameters<typeof timestampMs>[0] | undefined) => (t ? timestampMs(t) : undefined);
const healthName = (h: HealthState) => HealthState[h] ?? 'UNSPECIFIED';

async function nodeRow(fleet: Fleet, nodeId: string, now: number): Promise<NodeRow> {
  const [status, health, update, heartbeat, services] = await Promise.all([
    fleet.status(AgentStatusSchema, kvKeys.status(nodeId, 'node')),
    fleet.status(NodeHealthSchema, kvKeys.nodeHealth(nodeId)),
    fleet
      .status(UpdateStatusSchema, kvKeys.updateState(nodeId))
      .then(async (u) => u ?? (await fleet.ask(UpdateApi.cmd.status, nodeId))),
    fleet.lastHeartbeat(nodeId),
    fleet.liveServices(),
  ]);
  return {
    nodeId,
    health: health ? healthName(health.state) : 'UNKNOWN',
    stale: status ? isStale(status, now) : true,
    version: status?.version ?? '',
    slot: update?.activeSlot ?? '',
    lastHeartbeat: heartbeat?.time ? new Date(timestampMs(heartbeat.time)).toISOString() : undefined,
    liveAgents: services.filter((s) => s.nodeId === nodeId).length,
  };
}

function isStale(status: AgentStatus, now: number): boolean {
  const updated = ms(status.updatedAt);
  if (updated === undefined) return true;
  return now - updated > 3 * Math.max(status.statusIntervalMs, 1000);
}

export async function nodesCommand(ctx: CommandContext): Promise<number> {
  if (await ctx.fleet.isHub()) return (await import('./fleet.js')).hubNodesCommand(ctx);
  if (ctx.opts.selector !== undefined)
    throw usage('--selector needs a hub (a server where the fleet service runs)');
  const now = ctx.io.now();
  const ids = await ctx.fleet.nodeIds();
  const rows = await Promise.all(ids.map((id) => nodeRow(ctx.fleet, id, now)));
  if (ctx.opts.json) {
    writeJson(ctx.io, { nodes: rows });
    return 0;
  }
  if (rows.length === 0) {
    ctx.io.stdout.write('no nodes seen on this bus\n');
    return 0;
  }
  ctx.io.stdout.write(
    table(
      ['node', 'health', 'version', 'slot', 'last heartbeat', 'agents up'],
      rows.map((r) => [
        r.nodeId,
        r.stale ? `${r.health} (stale)` : r.health,
        r.version || '-',
        r.slot || '-',
        r.lastHeartbeat ? ago(Date.parse(r.lastHeartbeat), now) : '-',
        String(r.liveAgents),
      ]),
    ),
  );
  return 0;
}

export async function nodeCommand(ctx: CommandContext): Promise<number> {
  const [nodeId] = ctx.args;
  const { fleet } = ctx;
  if (await fleet.isHub()) return (await import('./fleet.js')).hubNodeCommand(ctx);
  await fleet.requireNode(nodeId);
  // Live answers where the agent is up; the last copy in KV edge_status otherwise.
  const [describe, health, inventory, update, statuses, services, row] = await Promise.all([
    fleet.ask(NodeApi.cmd.describe, nodeId),
    fleet
      .ask(NodeApi.cmd.health, nodeId)
      .then(async (h) => h ?? (await fleet.status(NodeHealthSchema, kvKeys.nodeHealth(nodeId)))),
    fleet
      .ask(HardwareApi.cmd.inventory, nodeId)
      .then(async (i) => i ?? (await fleet.status(InventorySchema, kvKeys.hardwareInventory(nodeId)))),
    fleet
      .ask(UpdateApi.cmd.status, nodeId)
      .then(async (u) => u ?? (await fleet.status(UpdateStatusSchema, kvKeys.updateState(nodeId)))),
    fleet.agentStatuses(nodeId),
    fleet.liveServices(),
    nodeRow(fleet, nodeId, ctx.io.now()),
  ]);
  // After the reads: a status written while they ran is not shown as "in 0s".
  const now = ctx.io.now();
  const identity =
    describe?.identity ?? (await fleet.status(NodeIdentitySchema, kvKeys.nodeIdentity(nodeId)));
  const live = services.filter((s) => s.nodeId === nodeId);
  const agents = statuses.map((s) => ({
    agent: s.agent,
    state: AgentState[s.state] ?? 'UNSPECIFIED',
    version: s.version,
    updatedAt: ms(s.updatedAt),
    reasons: s.reasons,
    stale: isStale(s, now),
    live: live.some((l) => l.agent === s.agent),
  }));

  if (ctx.opts.json) {
    writeJson(ctx.io, {
      nodeId,
      health: row.health,
      stale: row.stale,
      version: row.version,
      slot: row.slot,
      lastHeartbeat: row.lastHeartbeat,
      identity: identity ? messageToJson(NodeIdentitySchema, identity) : null,
      healthReasons: health?.reasons ?? [],
      update: update ? messageToJson(UpdateStatusSchema, update) : null,
      inventory: inventory ? inventorySummary(inventory) : null,
      agents: agents.map((a) => ({
        ...a,
        updatedAt: a.updatedAt === undefined ? undefined : new Date(a.updatedAt).toISOString(),
      })),
      services: live,
    });
    return 0;
  }
  const out = ctx.io.stdout;
  out.write(identityBlock(nodeId, identity, row, now));
  out.write(`  health:    ${row.health}${row.stale ? ' (stale: the node agent went silent)' : ''}\n`);
  for (const reason of health?.reasons ?? []) out.write(`             - ${reason}\n`);
  out.write('\n');
  if (update) out.write(updateBlock(update));
  if (inventory) out.write(inventoryBlock(inventory));
  out.write('\nAgents\n');
  out.write(
    indent(
      table(
        ['agent', 'state', 'version', 'updated', 'live', 'reasons'],
        agents.map((a) => [
          a.agent,
          a.stale ? `${a.state.replace('AGENT_STATE_', '')} (stale)` : a.state.replace('AGENT_STATE_', ''),
          a.version || '-',
          ago(a.updatedAt, now),
          a.live ? 'yes' : 'no',
          a.reasons.join('; ') || '-',
        ]),
      ),
    ),
  );
  return 0;
}

function identityBlock(
  nodeId: string,
  identity: NodeIdentity | undefined,
  row: NodeRow,
  now: number,
): string {
  return block(`Node ${nodeId}`, [
    ['hostname', identity?.hostname || '-'],
    ['id source', identity ? idSource(identity) : '-'],
    ['version', row.version || '-'],
    ['slot', row.slot || '-'],
    [
      'heartbeat',
      row.lastHeartbeat
        ? `${ago(Date.parse(row.lastHeartbeat), now)} (${row.lastHeartbeat})`
        : 'none in EDGE_EVENTS',
    ],
  ]);
}

function idSource(identity: NodeIdentity): string {
  return (IdentitySource[identity.source] ?? 'UNSPECIFIED').toLowerCase();
}

function updateBlock(u: UpdateStatus): string {
  const pairs: [string, string][] = [
    ['state', `${UpdateState[u.state] ?? u.state}${u.detail ? ` — ${u.detail}` : ''}`],
    ['version', u.version || '-'],
    ['slots', `active ${u.activeSlot || '-'}, target ${u.targetSlot || '-'}`],
  ];
  if (inFlight(u.state) && u.bytesTotal > 0n)
    pairs.push(['progress', `${bytes(u.bytesDone)} of ${bytes(u.bytesTotal)}`]);
  return block('Update', pairs) + '\n';
}

export function inventorySummary(inv: Inventory) {
  return {
    system: [inv.system?.vendor, inv.system?.product].filter(Boolean).join(' '),
    os: inv.os?.prettyName ?? '',
    kernel: inv.os?.kernel ?? '',
    cpu: inv.cpu
      ? `${inv.cpu.model} (${inv.cpu.cores} cores, ${inv.cpu.threads} threads, ${inv.cpu.arch})`
      : '',
    memoryBytes: Number(inv.memory?.totalBytes ?? 0n),
    disks: inv.disks.map((d) => `${d.name} ${bytes(d.sizeBytes)}${d.model ? ` ${d.model}` : ''}`),
    nics: inv.nics.map(
      (n) =>
        `${n.name}${n.addresses.length ? ` ${n.addresses.map((a) => `${a.address}/${a.prefixLength}`).join(' ')}` : ''}`,
    ),
    gpus: inv.gpus.length,
    scannedAt: inv.scannedAt ? new Date(timestampMs(inv.scannedAt)).toISOString() : undefined,
    hash: inv.hash,
  };
}

function inventoryBlock(inv: Inventory): string {
  const s = inventorySummary(inv);
  return block('Hardware', [
    ['system', s.system || '-'],
    ['os', s.os ? `${s.os} (kernel ${s.kernel})` : '-'],
    ['cpu', s.cpu || '-'],
    ['memory', bytes(s.memoryBytes)],
    ['disks', s.disks.join(', ') || '-'],
    ['nics', s.nics.join(', ') || '-'],
    ['scanned', s.scannedAt ?? '-'],
  ]);
}

/** A download or install is running: its bytes mean something. */
function inFlight(state: UpdateState): boolean {
  return state === UpdateState.DOWNLOADING || state === UpdateState.INSTALLING;
}
