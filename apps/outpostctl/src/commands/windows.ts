/**
 * `outpostctl windows show|set <node|group>`: the maintenance windows of a node's desired update.
 * `set` replaces them (checked by the contract and the orchestrator's rules first, written at the
 * revision read); both show the next windows in the node's time zone — the zone of its first window
 * unless --tz names another — computed by the orchestrator's own window rules (DST, merging).
 */
import { readFileSync } from 'node:fs';
import { clone, toJson } from '@bufbuild/protobuf';
import { DateTime, IANAZone } from 'luxon';
import {
  ContractError,
  decodeJson,
  DesiredUpdateSchema,
  MaintenanceWindowSchema,
  OrchestrationState,
  OrchestratorApi,
  type DesiredUpdate,
  type MaintenanceWindow,
} from '@outpost/contracts';
import { nextWindows, type Interval } from '@outpost/update-domain';
import { CtlError, EXIT, usage } from '../exit-codes.js';
import { checkDesired, resolveTargets, writeDesired, type DesiredEntry } from '../desired.js';
import { duration, indent, table, writeJson } from '../output.js';
import type { CommandContext } from './context.js';

const DEFAULT_COUNT = 3;

interface NodeWindows {
  nodeId: string;
  timeZone: string;
  windows: MaintenanceWindow[];
  next: Interval[];
  /** The orchestrator's own word on why an install waits, when it answers. */
  waitingReason?: string;
}

function zoneFor(ctx: CommandContext, windows: MaintenanceWindow[]): string {
  const zone = ctx.opts.tz ?? windows[0]?.timeZone ?? 'UTC';
  if (!IANAZone.isValidZone(zone)) throw usage(`--tz ${zone} is not an IANA time zone`);
  return zone;
}

function requireDesired(entry: DesiredEntry): DesiredUpdate {
  if (!entry.value) {
    throw new CtlError(
      EXIT.NOT_FOUND,
      `${entry.nodeId} has no desired update${entry.malformed ? ` that can be read (${entry.malformed})` : ''}: its windows are part of it`,
      `write one first: outpostctl update set ${entry.nodeId} --manifest desired.json (a DesiredUpdate with windows)`,
    );
  }
  return entry.value;
}

async function describeWindows(ctx: CommandContext, entry: DesiredEntry): Promise<NodeWindows> {
  const value = requireDesired(entry);
  const desired = checkDesired(entry.nodeId, value);
  const count = ctx.opts.count ?? DEFAULT_COUNT;
  const reply = await ctx.fleet.ask(OrchestratorApi.cmd.windows, entry.nodeId).catch(() => undefined);
  return {
    nodeId: entry.nodeId,
    timeZone: zoneFor(ctx, value.windows),
    windows: value.windows,
    next: nextWindows(desired.windows, ctx.io.now(), count),
    waitingReason: reply?.waitingReason || undefined,
  };
}

function render(ctx: CommandContext, all: NodeWindows[]): void {
  if (ctx.opts.json) {
    writeJson(ctx.io, {
      nodes: all.map((n) => ({
        nodeId: n.nodeId,
        timeZone: n.timeZone,
        windows: n.windows.map((w) => toJson(MaintenanceWindowSchema, w)),
        next: n.next.map((iv) => ({
          start: DateTime.fromMillis(iv.start, { zone: n.timeZone }).toISO(),
          end: DateTime.fromMillis(iv.end, { zone: n.timeZone }).toISO(),
        })),
        waitingReason: n.waitingReason,
      })),
    });
    return;
  }
  const now = ctx.io.now();
  for (const n of all) {
    ctx.io.stdout.write(`Maintenance windows of ${n.nodeId} (${n.timeZone})\n`);
    for (const w of n.windows) ctx.io.stdout.write(`  ${windowText(w)}\n`);
    const fmt = (ms: number) =>
      DateTime.fromMillis(ms, { zone: n.timeZone }).toFormat('ccc yyyy-MM-dd HH:mm ZZZZ');
    ctx.io.stdout.write(
      indent(
        table(
          ['next', 'start', 'end', 'length', 'opens'],
          n.next.map((iv, i) => [
            String(i + 1),
            fmt(iv.start),
            fmt(iv.end),
            duration(iv.end - iv.start),
            iv.start <= now ? 'open now' : `in ${duration(iv.start - now)}`,
          ]),
        ),
      ),
    );
    if (n.next.length === 0) ctx.io.stdout.write('  no window ahead\n');
    if (n.waitingReason) ctx.io.stdout.write(`  orchestrator: ${n.waitingReason}\n`);
  }
}

function windowText(w: MaintenanceWindow): string {
  if (w.single) return `single ${w.single.start} .. ${w.single.end} ${w.timeZone}`;
  if (w.cron) return `cron "${w.cron.cron}" for ${w.cron.durationMinutes} min ${w.timeZone}`;
  if (w.weekly)
    return `weekly ${w.weekly.days.join(',')} ${w.weekly.startTime} for ${w.weekly.lengthMinutes} min ${w.timeZone}`;
  return `(empty) ${w.timeZone}`;
}

export async function windowsShowCommand(ctx: CommandContext): Promise<number> {
  const targets = await resolveTargets(ctx.fleet, ctx.args[0], ctx.opts.group);
  const all = [];
  for (const entry of targets) all.push(await describeWindows(ctx, entry));
  render(ctx, all);
  return 0;
}

/** The windows of a file: a JSON array of MaintenanceWindow, or an object with `windows`. */
export function readWindowsFile(path: string): MaintenanceWindow[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new CtlError(EXIT.NOT_FOUND, `cannot read ${path}: ${code}`);
    throw new CtlError(EXIT.INVALID, `${path} is not JSON: ${(err as Error).message}`);
  }
  const windows = Array.isArray(json) ? json : (json as { windows?: unknown } | null)?.windows;
  if (!Array.isArray(windows)) {
    throw new CtlError(EXIT.INVALID, `${path} must hold a JSON array of windows or an object with "windows"`);
  }
  try {
    return decodeJson(DesiredUpdateSchema, { windows }).windows;
  } catch (err) {
    throw new CtlError(
      EXIT.INVALID,
      `${path} does not match the contract: ${err instanceof ContractError ? err.message : String(err)}`,
      'each window is proto3 JSON of MaintenanceWindow: {"timeZone":..., one of "single", "cron", "weekly"}',
    );
  }
}

export async function windowsSetCommand(ctx: CommandContext): Promise<number> {
  if (!ctx.opts.file) throw usage('windows set needs --file FILE (a JSON array of maintenance windows)');
  const windows = readWindowsFile(ctx.opts.file);
  const targets = await resolveTargets(ctx.fleet, ctx.args[0], ctx.opts.group);
  // Every node's new value is checked before the first write: a group is set whole or not at all.
  const plans = targets.map((entry) => {
    const value = clone(DesiredUpdateSchema, requireDesired(entry));
    value.windows = windows;
    checkDesired(entry.nodeId, value);
    return { entry, value };
  });
  const written: DesiredEntry[] = [];
  for (const { entry, value } of plans) {
    const revision = await writeDesired(ctx.fleet, entry, value);
    written.push({ nodeId: entry.nodeId, value, revision });
  }
  const all = [];
  for (const entry of written) all.push(await describeWindows(ctx, entry));
  render(ctx, all);
  for (const entry of written) await noteRunningRun(ctx, entry);
  return 0;
}

/**
 * The orchestrator keeps the windows a run started with (docs/updates.md): new windows reach a run
 * already waiting only through a new run. Said on stderr, so --json output stays one document.
 */
async function noteRunningRun(ctx: CommandContext, entry: DesiredEntry): Promise<void> {
  const status = await ctx.fleet.ask(OrchestratorApi.cmd.status, entry.nodeId).catch(() => undefined);
  const waiting = [OrchestrationState.DOWNLOADING, OrchestrationState.WAITING_WINDOW];
  if (!status || !waiting.includes(status.state)) return;
  ctx.io.stderr.write(
    `note: the run of ${status.version} (retry ${status.retry}) on ${entry.nodeId} keeps the windows it started with; ` +
      `these apply to the next run (\`outpostctl update set ${entry.nodeId} --manifest FILE --retry ${status.retry + 1}\` starts one now)\n`,
  );
}
