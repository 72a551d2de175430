/**
 * `outpostctl update status|history <node>` and `outpostctl update set <node|group> --manifest FILE`.
 * Status and history come from the orchestrator's and the update agent's commands (the KV copies when
 * the agents do not answer). `set` writes the desired update the orchestrator reconciles from KV
 * edge_desired <node>.update: the file is a signed UpdateManifest (the rest of the desired update is
 * kept) or a whole DesiredUpdate; it is checked by the contract and the orchestrator's rules before
 * anything is written, for every node of a group before the first write.
 */
import { readFileSync } from 'node:fs';
import { toJson } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import {
  decodeJson,
  DesiredUpdateSchema,
  HistoryReplySchema,
  kvKeys,
  OrchestrationState,
  OrchestratorApi,
  OrchestratorStatusSchema,
  RunSchema,
  UpdateApi,
  UpdateManifestSchema,
  UpdateState,
  UpdateStatusSchema,
  type DesiredUpdate,
  ContractError,
} from '@outpost/contracts';
import { CtlError, EXIT, usage } from '../exit-codes.js';
import { ago, block, bytes, duration, table, writeJson } from '../output.js';
import { checkDesired, mergeDesired, readDesired, resolveTargets, writeDesired } from '../desired.js';
import type { CommandContext } from './context.js';

const iso = (t: Parameters<typeof timestampMs>[0] | undefined) =>
  t ? new Date(timestampMs(t)).toISOString() : undefined;

export async function updateStatusCommand(ctx: CommandContext): Promise<number> {
  const [nodeId] = ctx.args;
  const { fleet } = ctx;
  await fleet.requireNode(nodeId);
  const [orchestrator, update, desired] = await Promise.all([
    fleet.ask(OrchestratorApi.cmd.status, nodeId),
    fleet
      .ask(UpdateApi.cmd.status, nodeId)
      .then(async (u) => u ?? (await fleet.status(UpdateStatusSchema, kvKeys.updateState(nodeId)))),
    readDesired(fleet, nodeId),
  ]);
  if (ctx.opts.json) {
    writeJson(ctx.io, {
      nodeId,
      desired: desired.value ? toJson(DesiredUpdateSchema, desired.value) : null,
      desiredRevision: desired.revision ?? null,
      desiredMalformed: desired.malformed,
      orchestrator: orchestrator ? toJson(OrchestratorStatusSchema, orchestrator) : null,
      update: update ? toJson(UpdateStatusSchema, update) : null,
    });
    return 0;
  }
  const now = ctx.io.now();
  const d = desired.value;
  const pairs: [string, string][] = [
    [
      'desired',
      d
        ? `${d.manifest?.version ?? '-'} (retry ${d.retry}${d.rolloutGroup ? `, group ${d.rolloutGroup} max ${d.maxParallel}` : ''}, revision ${desired.revision})`
        : desired.malformed
          ? `unreadable (${desired.malformed})`
          : 'none',
    ],
  ];
  if (orchestrator) {
    const since = orchestrator.since ? timestampMs(orchestrator.since) : undefined;
    pairs.push([
      'orchestrator',
      `${OrchestrationState[orchestrator.state]} ${orchestrator.version || ''} since ${ago(since, now)}`.replace(
        /\s+/g,
        ' ',
      ),
    ]);
    if (orchestrator.detail) pairs.push(['detail', orchestrator.detail]);
    if (orchestrator.nextWindow?.start)
      pairs.push([
        'next window',
        `${iso(orchestrator.nextWindow.start)} .. ${iso(orchestrator.nextWindow.end)}`,
      ]);
    if (orchestrator.rejected) pairs.push(['rejected', orchestrator.rejected]);
  } else {
    pairs.push(['orchestrator', 'not answering']);
  }
  if (update) {
    pairs.push(['update agent', `${UpdateState[update.state]} ${update.version}`.trim()]);
    pairs.push(['slots', `active ${update.activeSlot || '-'}, target ${update.targetSlot || '-'}`]);
    if (inFlight(update.state) && update.bytesTotal > 0n)
      pairs.push(['progress', `${bytes(update.bytesDone)} of ${bytes(update.bytesTotal)}`]);
    if (update.detail) pairs.push(['update detail', update.detail]);
  } else {
    pairs.push(['update agent', 'no status']);
  }
  ctx.io.stdout.write(block(`Update of ${nodeId}`, pairs));
  return 0;
}

export async function updateHistoryCommand(ctx: CommandContext): Promise<number> {
  const [nodeId] = ctx.args;
  const { fleet } = ctx;
  await fleet.requireNode(nodeId);
  const history =
    (await fleet.ask(OrchestratorApi.cmd.history, nodeId)) ??
    (await fleet.status(HistoryReplySchema, kvKeys.orchestratorHistory(nodeId)));
  const runs = history?.runs ?? [];
  if (ctx.opts.json) {
    writeJson(ctx.io, { nodeId, runs: runs.map((r) => toJson(RunSchema, r)) });
    return 0;
  }
  if (runs.length === 0) {
    ctx.io.stdout.write(`no update runs on ${nodeId}\n`);
    return 0;
  }
  ctx.io.stdout.write(
    table(
      [
        'version',
        'retry',
        'started',
        'result',
        'windows waited',
        'download',
        'wait',
        'install',
        'verify',
        'reason',
      ],
      runs.map((r) => [
        r.version,
        String(r.retry),
        iso(r.startedAt) ?? '-',
        OrchestrationState[r.result] ?? String(r.result),
        String(r.windowsWaited),
        duration(Number(r.downloadMs)),
        duration(Number(r.waitMs)),
        duration(Number(r.installMs)),
        duration(Number(r.verifyMs)),
        r.reason || '-',
      ]),
    ),
  );
  return 0;
}

/** The file's JSON object and the fields it sets, as a (partial) DesiredUpdate. */
export function readUpdateFile(path: string): { json: Record<string, unknown>; value: DesiredUpdate } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CtlError(
      EXIT.NOT_FOUND,
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CtlError(EXIT.INVALID, `${path} is not JSON: ${(err as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new CtlError(
      EXIT.INVALID,
      `${path} must hold a JSON object (an UpdateManifest or a DesiredUpdate)`,
    );
  }
  const obj = json as Record<string, unknown>;
  // A whole (or partial) DesiredUpdate names its manifest; anything else is the manifest itself.
  const wrapped = 'manifest' in obj ? obj : { manifest: obj };
  try {
    if (!('manifest' in obj)) decodeJson(UpdateManifestSchema, obj);
    return { json: wrapped, value: decodeJson(DesiredUpdateSchema, wrapped) };
  } catch (err) {
    const message = err instanceof ContractError ? err.message : String(err);
    throw new CtlError(
      EXIT.INVALID,
      `${path} does not match the contract: ${message}`,
      'the file is proto3 JSON of UpdateManifest or DesiredUpdate (proto/outpost/orchestrator/v1/orchestrator.proto)',
    );
  }
}

export async function updateSetCommand(ctx: CommandContext): Promise<number> {
  const [target] = ctx.args;
  if (!ctx.opts.manifest) throw usage('update set needs --manifest FILE');
  const file = readUpdateFile(ctx.opts.manifest);
  const targets = await resolveTargets(ctx.fleet, target, ctx.opts.group);
  // Every node's new value is checked before the first write: a group is set whole or not at all.
  const plans = targets.map((entry) => {
    const value = mergeDesired(entry.value, file.value, file.json);
    if (ctx.opts.retry !== undefined) value.retry = ctx.opts.retry;
    checkDesired(entry.nodeId, value);
    return { entry, value };
  });
  const results = [];
  for (const { entry, value } of plans) {
    const revision = await writeDesired(ctx.fleet, entry, value);
    results.push({
      nodeId: entry.nodeId,
      version: value.manifest?.version ?? '',
      previousVersion: entry.value?.manifest?.version ?? '',
      retry: value.retry,
      revision,
    });
  }
  if (ctx.opts.json) {
    writeJson(ctx.io, { nodes: results });
    return 0;
  }
  ctx.io.stdout.write(
    table(
      ['node', 'version', 'was', 'retry', 'revision'],
      results.map((r) => [
        r.nodeId,
        r.version,
        r.previousVersion || '-',
        String(r.retry),
        String(r.revision),
      ]),
    ),
  );
  ctx.io.stdout.write(
    'desired update written; follow it with `outpostctl watch <node>` or `outpostctl update status <node>`\n',
  );
  return 0;
}

/** A download or install is running: its bytes mean something. */
function inFlight(state: UpdateState): boolean {
  return state === UpdateState.DOWNLOADING || state === UpdateState.INSTALLING;
}
