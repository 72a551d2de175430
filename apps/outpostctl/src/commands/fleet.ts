/**
 * outpostctl against a hub: the fleet service's inventory (`nodes`, `node <id>` when the hub's fleet
 * service answers) and rollouts (`rollout create|status|list|pause|resume|abort`). Every request and
 * reply goes through the catalog (edge.hub.fleet.cmd.*), so a refused rollout is a typed error with
 * nothing written.
 */
import { readFile } from 'node:fs/promises';
import { toJson } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import {
  decodeJsonText,
  FleetApi,
  FleetNodeSchema,
  HealthState,
  HUB_DOMAIN,
  OrchestrationState,
  RolloutCreateRequestSchema,
  RolloutSchema,
  RolloutState,
  TargetPhase,
  type FleetNode,
  type Rollout,
} from '@outpost/contracts';
import { usage } from '../exit-codes.js';
import { ago, block, table, writeJson } from '../output.js';
import type { CommandContext } from './context.js';

const at = { nodeId: HUB_DOMAIN };
const name = (e: Record<number, string>, v: number) => e[v] ?? 'UNSPECIFIED';
const labelsText = (l: Record<string, string>) =>
  Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '-';

export async function hubNodesCommand(ctx: CommandContext): Promise<number> {
  const now = ctx.io.now();
  const nodes: FleetNode[] = [];
  let pageToken = '';
  do {
    const page = await ctx.fleet.client.request(
      FleetApi.cmd.nodes,
      { selector: ctx.opts.selector ?? '', limit: 1000, pageToken },
      at,
    );
    nodes.push(...page.nodes);
    pageToken = page.nextPageToken;
  } while (pageToken);
  if (ctx.opts.json) {
    writeJson(ctx.io, { nodes: nodes.map((n) => toJson(FleetNodeSchema, n)) });
    return 0;
  }
  if (nodes.length === 0) {
    ctx.io.stdout.write('no node matches\n');
    return 0;
  }
  ctx.io.stdout.write(
    table(
      ['node', 'health', 'online', 'running', 'desired', 'update', 'labels', 'last seen'],
      nodes.map((n) => [
        n.nodeId,
        name(HealthState, n.health),
        n.online ? 'yes' : 'no',
        n.runningVersion || '-',
        n.desiredVersion || '-',
        n.updateState ? `${name(OrchestrationState, n.updateState)} ${n.updateVersion}` : '-',
        labelsText(n.labels),
        n.lastSeen ? ago(timestampMs(n.lastSeen), now) : 'never',
      ]),
    ),
  );
  return 0;
}

export async function hubNodeCommand(ctx: CommandContext): Promise<number> {
  const n = await ctx.fleet.client.request(FleetApi.cmd.node, { nodeId: ctx.args[0] }, at);
  if (ctx.opts.json) {
    writeJson(ctx.io, { node: toJson(FleetNodeSchema, n) });
    return 0;
  }
  ctx.io.stdout.write(
    block(`node ${n.nodeId}`, [
      ['health', name(HealthState, n.health)],
      ['online', n.online ? 'yes' : 'no'],
      ['last seen', n.lastSeen ? ago(timestampMs(n.lastSeen), ctx.io.now()) : 'never'],
      ['running version', n.runningVersion || '-'],
      ['desired version', n.desiredVersion || '-'],
      [
        'update',
        n.updateState
          ? `${name(OrchestrationState, n.updateState)} ${n.updateVersion} ${n.updateDetail}`
          : '-',
      ],
      ['labels', labelsText(n.labels)],
      ['node labels', labelsText(n.nodeLabels)],
      ['hub overrides', labelsText(n.labelOverrides)],
    ]),
  );
  return 0;
}

function writeRollout(ctx: CommandContext, r: Rollout): void {
  if (ctx.opts.json) {
    writeJson(ctx.io, { rollout: toJson(RolloutSchema, r) });
    return;
  }
  const count = (p: TargetPhase) => r.phaseCounts[TargetPhase[p]] ?? 0;
  ctx.io.stdout.write(
    block(`rollout ${r.id}`, [
      ['version', r.version],
      ['selector', r.selector || '(every node)'],
      ['state', name(RolloutState, r.state)],
      ['batch', `${r.batch + 1} of ${r.batchCount}`],
      ['reason', r.reason || '-'],
      [
        'nodes',
        `${r.targetTotal}: ${count(TargetPhase.SUCCEEDED)} succeeded, ${count(TargetPhase.ASSIGNED)} assigned, ${count(TargetPhase.FAILED) + count(TargetPhase.TIMED_OUT)} failed, ${count(TargetPhase.WAITING)} waiting`,
      ],
    ]),
  );
  if (r.targets.length < r.targetTotal)
    ctx.io.stdout.write(
      `the first ${r.targets.length} of ${r.targetTotal} nodes (--json and the fleet API page them):\n`,
    );
  if (r.targets.length) {
    ctx.io.stdout.write(
      table(
        ['node', 'batch', 'phase', 'group', 'written', 'detail'],
        r.targets.map((t) => [
          t.nodeId,
          String(t.batch),
          name(TargetPhase, t.phase),
          t.group || '-',
          t.written ? 'yes' : 'no',
          t.detail || '-',
        ]),
      ),
    );
  }
}

export async function rolloutCreateCommand(ctx: CommandContext): Promise<number> {
  if (!ctx.opts.file) throw usage('rollout create needs --file FILE (a RolloutCreateRequest as JSON)');
  let request;
  try {
    request = decodeJsonText(RolloutCreateRequestSchema, await readFile(ctx.opts.file, 'utf8'));
  } catch (err) {
    throw usage(`${ctx.opts.file}: ${(err as Error).message}`);
  }
  writeRollout(ctx, await ctx.fleet.client.request(FleetApi.cmd.rolloutCreate, request, at));
  return 0;
}

export async function rolloutStatusCommand(ctx: CommandContext): Promise<number> {
  writeRollout(ctx, await ctx.fleet.client.request(FleetApi.cmd.rolloutStatus, { id: ctx.args[0] }, at));
  return 0;
}

export async function rolloutListCommand(ctx: CommandContext): Promise<number> {
  const { rollouts } = await ctx.fleet.client.request(FleetApi.cmd.rolloutList, {}, at);
  if (ctx.opts.json) {
    writeJson(ctx.io, { rollouts: rollouts.map((r) => toJson(RolloutSchema, r)) });
    return 0;
  }
  ctx.io.stdout.write(
    rollouts.length === 0
      ? 'no rollouts\n'
      : table(
          ['rollout', 'version', 'state', 'batch', 'selector', 'reason'],
          rollouts.map((r) => [
            r.id,
            r.version,
            name(RolloutState, r.state),
            `${r.batch + 1}/${r.batchCount}`,
            r.selector || '-',
            r.reason || '-',
          ]),
        ),
  );
  return 0;
}

const ACTION = {
  pause: FleetApi.cmd.rolloutPause,
  resume: FleetApi.cmd.rolloutResume,
  abort: FleetApi.cmd.rolloutAbort,
} as const;

export function rolloutActionCommand(action: keyof typeof ACTION) {
  return async (ctx: CommandContext): Promise<number> => {
    writeRollout(ctx, await ctx.fleet.client.request(ACTION[action], { id: ctx.args[0] }, at));
    return 0;
  };
}
export const rolloutPauseCommand = rolloutActionCommand('pause');
export const rolloutResumeCommand = rolloutActionCommand('resume');
export const rolloutAbortCommand = rolloutActionCommand('abort');
