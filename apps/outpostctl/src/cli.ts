/**
 * outpostctl's command line: parses (node:util parseArgs), connects, runs one command, and turns
 * every failure into a message, a hint and a documented exit code (exit-codes.ts). The process
 * itself (stdout, signals, exit) belongs to main.ts; this file only returns the code.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { NatsConnection } from '@nats-io/nats-core';
import { connectTarget, resolveTarget } from './connection.js';
import { EXIT, toCtlError, usage, type CtlError } from './exit-codes.js';
import { Fleet } from './fleet.js';
import type { Io } from './output.js';
import type { CommandContext, Options } from './commands/context.js';

export const VERSION = '0.1.0';

const OPTIONS = {
  json: { type: 'boolean', default: false },
  server: { type: 'string', short: 's' },
  creds: { type: 'string' },
  context: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
  manifest: { type: 'string', short: 'm' },
  file: { type: 'string', short: 'f' },
  retry: { type: 'string' },
  count: { type: 'string', short: 'n' },
  tz: { type: 'string' },
  group: { type: 'boolean', default: false },
  selector: { type: 'string', short: 'l' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'node-id': { type: 'string' },
  'hardware-id': { type: 'string' },
  'key-file': { type: 'string' },
  'creds-file': { type: 'string' },
  force: { type: 'boolean', default: false },
  reason: { type: 'string' },
  ttl: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type OptionName = keyof typeof OPTIONS;
const GLOBAL: OptionName[] = ['json', 'server', 'creds', 'context', 'timeout', 'help', 'version'];

interface CommandSpec {
  words: string[];
  /** Positional arguments: name, and whether it may be left out. */
  args: [string, boolean][];
  options: OptionName[];
  summary: string;
  run: Run;
}

type Run = (ctx: CommandContext) => Promise<number>;

/** A command's module is loaded only when it runs: `--help` and `nodes` skip the orchestrator's rules. */
function lazy<M>(load: () => Promise<M>, name: keyof M): Run {
  return async (ctx) => ((await load())[name] as Run)(ctx);
}

const COMMANDS: CommandSpec[] = [
  {
    words: ['nodes'],
    args: [],
    options: ['selector'],
    summary:
      'every node seen on the bus: health, version, slot, last heartbeat (on a hub: the fleet inventory [-l SELECTOR])',
    run: lazy(() => import('./commands/nodes.js'), 'nodesCommand'),
  },
  {
    words: ['node'],
    args: [['node', false]],
    options: [],
    summary: 'one node: identity, health, update, hardware summary, agents',
    run: lazy(() => import('./commands/nodes.js'), 'nodeCommand'),
  },
  {
    words: ['update', 'status'],
    args: [['node', false]],
    options: [],
    summary: 'desired update, orchestrator and update agent state',
    run: lazy(() => import('./commands/update.js'), 'updateStatusCommand'),
  },
  {
    words: ['update', 'history'],
    args: [['node', false]],
    options: [],
    summary: 'every update run of the node',
    run: lazy(() => import('./commands/update.js'), 'updateHistoryCommand'),
  },
  {
    words: ['update', 'set'],
    args: [['node|group', false]],
    options: ['manifest', 'retry', 'group'],
    summary:
      'write the desired update (--manifest FILE: UpdateManifest or DesiredUpdate JSON) [--retry N] [--group]',
    run: lazy(() => import('./commands/update.js'), 'updateSetCommand'),
  },
  {
    words: ['windows', 'show'],
    args: [['node|group', false]],
    options: ['count', 'tz', 'group'],
    summary:
      "maintenance windows and the next ones in the node's time zone [--count N] [--tz ZONE] [--group]",
    run: lazy(() => import('./commands/windows.js'), 'windowsShowCommand'),
  },
  {
    words: ['windows', 'set'],
    args: [['node|group', false]],
    options: ['file', 'count', 'tz', 'group'],
    summary: 'replace the maintenance windows (--file FILE: JSON array of MaintenanceWindow) [--group]',
    run: lazy(() => import('./commands/windows.js'), 'windowsSetCommand'),
  },
  {
    words: ['leases'],
    args: [['group', true]],
    options: [],
    summary: 'rollout leases held by update orchestrators',
    run: lazy(() => import('./commands/leases.js'), 'leasesCommand'),
  },
  {
    words: ['break-lease'],
    args: [
      ['group', false],
      ['slot', false],
    ],
    options: [],
    summary: 'free a rollout lease slot',
    run: lazy(() => import('./commands/leases.js'), 'breakLeaseCommand'),
  },
  {
    words: ['rollout', 'create'],
    args: [],
    options: ['file'],
    summary: 'declare a staged rollout on the hub (--file FILE: RolloutCreateRequest JSON)',
    run: lazy(() => import('./commands/fleet.js'), 'rolloutCreateCommand'),
  },
  {
    words: ['rollout', 'status'],
    args: [['rollout', false]],
    options: [],
    summary: 'a rollout on the hub: state, batch, every target node',
    run: lazy(() => import('./commands/fleet.js'), 'rolloutStatusCommand'),
  },
  {
    words: ['rollout', 'list'],
    args: [],
    options: [],
    summary: 'every rollout on the hub, newest first',
    run: lazy(() => import('./commands/fleet.js'), 'rolloutListCommand'),
  },
  {
    words: ['rollout', 'pause'],
    args: [['rollout', false]],
    options: [],
    summary: 'stop assigning nodes',
    run: lazy(() => import('./commands/fleet.js'), 'rolloutPauseCommand'),
  },
  {
    words: ['rollout', 'resume'],
    args: [['rollout', false]],
    options: [],
    summary: "assign nodes again (accepts the current batch's failures so far)",
    run: lazy(() => import('./commands/fleet.js'), 'rolloutResumeCommand'),
  },
  {
    words: ['rollout', 'abort'],
    args: [['rollout', false]],
    options: [],
    summary: 'stop the rollout for good (assigned nodes keep their desired update)',
    run: lazy(() => import('./commands/fleet.js'), 'rolloutAbortCommand'),
  },
  {
    words: ['enrol'],
    args: [],
    options: ['token', 'token-file', 'node-id', 'hardware-id', 'key-file', 'creds-file'],
    summary:
      'on a node: join the hub with a one-time token (--token T --node-id ID; -s hub --creds enrol.creds)',
    run: lazy(() => import('./commands/enrol.js'), 'enrolCommand'),
  },
  {
    words: ['enrol', 'renew'],
    args: [],
    options: ['node-id', 'key-file', 'creds-file', 'force'],
    summary: "on a node: new credentials for the node's key when 2/3 of their lifetime passed [--force]",
    run: lazy(() => import('./commands/enrol.js'), 'enrolRenewCommand'),
  },
  {
    words: ['enrol', 'token'],
    args: [['node|-', false]],
    options: ['hardware-id', 'ttl'],
    summary: 'on the hub: a one-time enrolment token for a node id (- for any new id) [--ttl S]',
    run: lazy(() => import('./commands/enrol.js'), 'enrolTokenCommand'),
  },
  {
    words: ['enrol', 'revoke'],
    args: [['node', false]],
    options: ['reason'],
    summary: "on the hub: revoke a node's credentials; its leaf is cut off [--reason TEXT]",
    run: lazy(() => import('./commands/enrol.js'), 'enrolRevokeCommand'),
  },
  {
    words: ['enrol', 'list'],
    args: [],
    options: [],
    summary: 'on the hub: every enrolled node, its state, key and credentials expiry',
    run: lazy(() => import('./commands/enrol.js'), 'enrolListCommand'),
  },
  {
    words: ['watch'],
    args: [['node', true]],
    options: ['count'],
    summary: 'live events, decoded; progress bars for downloads and installs [--count N]',
    run: lazy(() => import('./commands/watch.js'), 'watchCommand'),
  },
];

export function helpText(): string {
  const lines = COMMANDS.map((c) => {
    const args = c.args.map(([name, optional]) => (optional ? `[${name}]` : `<${name}>`)).join(' ');
    return `  ${`${c.words.join(' ')} ${args}`.padEnd(34)} ${c.summary}`;
  });
  return `outpostctl ${VERSION}: inspect and drive Outpost nodes over the NATS bus

Usage: outpostctl <command> [arguments] [options]

Commands:
${lines.join('\n')}

Options for every command:
  --json                     machine-readable output (one JSON document; watch: one per line)
  -s, --server URL           NATS server URL(s), comma-separated (default $NATS_URL or nats://127.0.0.1:4222)
  --creds FILE               a .creds file (JWT + seed) or a file holding an nkey user seed
  --context NAME             a nats CLI context (~/.config/nats/context/NAME.json: url, creds, ...)
  --timeout MS               deadline of each request to an agent (default 3000)
  -h, --help                 this text
  --version                  outpostctl's version

Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 permission denied, 5 server unreachable,
6 input refused by the contract (nothing written). See docs/outpostctl.md.
`;
}

function positiveInt(name: string, text: string | undefined, min = 0): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw usage(`--${name} ${text} is not a whole number${min > 0 ? ` >= ${min}` : ''}`);
  }
  return Number(text);
}

function findCommand(positionals: string[]): CommandSpec {
  const match = COMMANDS.filter((c) => c.words.every((w, i) => positionals[i] === w)).sort(
    (a, b) => b.words.length - a.words.length,
  )[0];
  if (match) return match;
  const group = COMMANDS.filter((c) => c.words[0] === positionals[0]);
  if (group.length > 0) {
    throw usage(
      `${positionals[0]} needs one of: ${group.map((c) => c.words.slice(1).join(' ')).join(', ')}`,
      `for example: outpostctl ${group[0].words.join(' ')} ${group[0].args.map(([n]) => `<${n}>`).join(' ')}`,
    );
  }
  throw usage(`unknown command: ${positionals[0]}`);
}

function report(io: Io, err: CtlError, json: boolean): number {
  if (json) {
    io.stderr.write(
      `${JSON.stringify({ error: { exitCode: err.exitCode, message: err.message, hint: err.hint || undefined } })}\n`,
    );
  } else {
    io.stderr.write(`outpostctl: ${err.message}\n`);
    if (err.hint) io.stderr.write(`  ${err.hint}\n`);
  }
  return err.exitCode;
}

export async function run(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  let json = argv.includes('--json');
  let nc: NatsConnection | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw usage((err as Error).message.split('\n')[0]);
    }
    const { values, positionals } = parsed;
    json = values.json;
    if (values.version) {
      io.stdout.write(`${VERSION}\n`);
      return EXIT.OK;
    }
    if (values.help || positionals.length === 0 || positionals[0] === 'help') {
      io.stdout.write(helpText());
      return positionals.length === 0 && !values.help ? EXIT.USAGE : EXIT.OK;
    }
    const spec = findCommand(positionals);
    const args = positionals.slice(spec.words.length);
    const required = spec.args.filter(([, optional]) => !optional).length;
    if (args.length < required || args.length > spec.args.length) {
      const shape = spec.args.map(([n, o]) => (o ? `[${n}]` : `<${n}>`)).join(' ');
      throw usage(`usage: outpostctl ${spec.words.join(' ')} ${shape}`.trim(), '');
    }
    for (const name of Object.keys(values) as OptionName[]) {
      const given = values[name] !== undefined && values[name] !== false;
      if (given && !GLOBAL.includes(name) && !spec.options.includes(name)) {
        throw usage(`--${name} does not apply to \`${spec.words.join(' ')}\``);
      }
    }
    const opts: Options = {
      json: values.json,
      manifest: values.manifest,
      file: values.file,
      retry: positiveInt('retry', values.retry),
      count: positiveInt('count', values.count, 1),
      tz: values.tz,
      group: values.group,
      selector: values.selector,
      token: values.token,
      tokenFile: values['token-file'],
      nodeId: values['node-id'],
      hardwareId: values['hardware-id'],
      keyFile: values['key-file'],
      credsFile: values['creds-file'],
      force: values.force,
      reason: values.reason,
      ttlSeconds: positiveInt('ttl', values.ttl, 1),
    };
    const timeoutMs = positiveInt('timeout', values.timeout, 1) ?? 3000;
    const target = resolveTarget(
      { server: values.server, creds: values.creds, context: values.context, timeoutMs },
      io.env,
    );
    nc = await connectTarget(target, timeoutMs, io.env);
    const fleet = new Fleet(nc, timeoutMs);
    return await spec.run({ io, fleet, args, opts, signal });
  } catch (err) {
    return report(io, toCtlError(err), json);
  } finally {
    await nc?.close().catch(() => undefined);
  }
}
