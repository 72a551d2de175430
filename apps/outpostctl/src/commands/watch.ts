/**
 * `outpostctl watch [node]`: live events of one node or of every node (edge.<node|*>.*.evt.>), each
 * decoded strictly with its catalog schema. Update progress is drawn as a bar (redrawn in place on a
 * terminal, one line per report otherwise). --json writes one JSON object per line. Ends on Ctrl-C
 * or after --count events.
 */
import { toJson, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import type { Msg } from '@nats-io/nats-core';
import {
  catalogEntry,
  decode,
  HealthState,
  OrchestrationState,
  parseSubject,
  SUBJECT_ROOT,
  UpdateApi,
  UpdateState,
  type EventDef,
  type Heartbeat,
  type NodeHealth,
  type OrchestratorStateChange,
  type Progress,
  type StateChange,
} from '@outpost/contracts';
import { usage } from '../exit-codes.js';
import { bytes, duration } from '../output.js';
import type { CommandContext } from './context.js';

const BAR_WIDTH = 24;

export function progressBar(
  p: Pick<Progress, 'bytes' | 'total' | 'rate' | 'eta' | 'phase' | 'version'>,
): string {
  const total = Number(p.total);
  const done = Number(p.bytes);
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const eta = p.eta ? duration(Number(p.eta.seconds) * 1000 + p.eta.nanos / 1e6) : '?';
  return (
    `${p.phase} ${p.version} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ` +
    `${String(Math.floor(fraction * 100)).padStart(3)}%  ${bytes(done)}/${bytes(total)}  ${bytes(Math.round(p.rate))}/s  ETA ${eta}`
  );
}

/** One line of text for an event. */
function summary(def: EventDef, message: MessageShape<DescMessage>): string {
  switch (`${def.agent}.${def.name}`) {
    case 'update.progress':
      return progressBar(message as Progress);
    case 'update.state': {
      const m = message as StateChange;
      const s = m.status;
      return `${UpdateState[m.from]} -> ${UpdateState[s?.state ?? 0]} ${s?.version ?? ''}${s?.detail ? ` (${s.detail})` : ''}`;
    }
    case 'orchestrator.state': {
      const m = message as OrchestratorStateChange;
      const s = m.status;
      return `${OrchestrationState[m.from]} -> ${OrchestrationState[s?.state ?? 0]} ${s?.version ?? ''}${s?.detail ? ` (${s.detail})` : ''}`;
    }
    case 'node.heartbeat': {
      const m = message as Heartbeat;
      return `#${m.sequence} ${HealthState[m.health]}`;
    }
    case 'node.health': {
      const m = message as NodeHealth;
      return `${HealthState[m.state]}${m.reasons.length ? `: ${m.reasons.join('; ')}` : ''}`;
    }
    default:
      return JSON.stringify(toJson(def.schema, message));
  }
}

export async function watchCommand(ctx: CommandContext): Promise<number> {
  const [nodeId] = ctx.args;
  const { io, fleet, signal } = ctx;
  if (nodeId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) {
    throw usage(`"${nodeId}" is not a node id (1-64 of A-Z a-z 0-9 _ -)`);
  }
  if (nodeId && !(await fleet.nodeIds()).includes(nodeId)) {
    io.stderr.write(`outpostctl: node ${nodeId} has not been seen on this bus yet; waiting for its events\n`);
  }
  const subject = `${SUBJECT_ROOT}.${nodeId ?? '*'}.*.evt.>`;
  const sub = fleet.nc.subscribe(subject, ctx.opts.count ? { max: ctx.opts.count } : {});
  const stop = () => sub.unsubscribe();
  signal.addEventListener('abort', stop, { once: true });
  await fleet.nc.flush(); // a permission violation on the subscription surfaces now
  if (!ctx.opts.json) io.stderr.write(`watching ${subject} (Ctrl-C to stop)\n`);
  const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
  let barOpen = false;
  try {
    for await (const msg of sub) {
      const line = render(ctx, msg);
      if (line === undefined) continue;
      if (ctx.opts.json) {
        io.stdout.write(`${line.json}\n`);
        continue;
      }
      // On a terminal, progress redraws its line; anything else starts a new one.
      if (tty && line.progress) {
        io.stdout.write(`\r\x1b[2K${line.text}`);
        barOpen = true;
      } else {
        io.stdout.write(`${barOpen ? '\n' : ''}${line.text}\n`);
        barOpen = false;
      }
    }
  } finally {
    signal.removeEventListener('abort', stop);
    if (barOpen) io.stdout.write('\n');
  }
  return 0;
}

function render(
  ctx: CommandContext,
  msg: Msg,
): { text: string; json: string; progress: boolean } | undefined {
  const parsed = parseSubject(msg.subject);
  const def = parsed?.name ? catalogEntry(`${parsed.agent}.evt.${parsed.name}`) : undefined;
  if (!parsed || !def || def.kind !== 'evt') {
    ctx.io.stderr.write(`outpostctl: ${msg.subject}: not an event of the catalog (ignored)\n`);
    return undefined;
  }
  let message: MessageShape<DescMessage>;
  try {
    message = decode(def.schema, msg.data);
  } catch (err) {
    ctx.io.stderr.write(
      `outpostctl: ${msg.subject}: malformed ${def.schema.typeName}: ${(err as Error).message}\n`,
    );
    return undefined;
  }
  const now = ctx.io.now();
  const time = timeOf(message) ?? now;
  return {
    progress: def === UpdateApi.evt.progress,
    text: `${new Date(time).toISOString().slice(11, 19)}  ${parsed.nodeId}  ${def.agent}.${def.name}  ${summary(def, message)}`,
    json: JSON.stringify({
      time: new Date(time).toISOString(),
      subject: msg.subject,
      nodeId: parsed.nodeId,
      agent: parsed.agent,
      event: parsed.name,
      message: toJson(def.schema, message),
    }),
  };
}

/** The event's own time when it carries one (a heartbeat), else undefined. */
function timeOf(message: MessageShape<DescMessage>): number | undefined {
  const t = (message as { time?: Parameters<typeof timestampMs>[0] }).time;
  return t ? timestampMs(t) : undefined;
}
