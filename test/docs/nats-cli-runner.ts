/**
 * Executes the cookbook's `nats` samples with nats.js, checking each against the contracts the way
 * the real CLI's output would show it: replies decode with the catalog's reply schema, KV values with
 * their key's contract, subjects exist in the catalog. Pipes into `jq` run the real jq.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DescMessage } from '@bufbuild/protobuf';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  AgentStatusSchema,
  CATALOG,
  HUB_CATALOG,
  ClusterDesiredSchema,
  ClusterStatusSchema,
  catalogEntry,
  decode,
  decodeJsonText,
  DesiredUpdateSchema,
  ErrorReplySchema,
  EVENT_STREAM,
  HistoryReplySchema,
  httpCodeOf,
  InventorySchema,
  KV_DESIRED,
  KV_STATUS,
  kvKeys,
  NodeHealthSchema,
  NodeIdentitySchema,
  parseSubject,
  StatusApi,
  TelemetryConfigSchema,
  TelemetryProfileSchema,
  UpdateStatusSchema,
  type AgentApi,
  type ServiceId,
  type CommandDef,
} from '@outpost/contracts';
import { eventually } from '@outpost/testing';
import {
  assignment,
  literal,
  parseNats,
  parseShell,
  type NatsCommand,
  type Pipeline,
  type Word,
} from './cookbook-parser.js';

const text = (data: Uint8Array) => new TextDecoder().decode(data);
const pretty = (body: string) => JSON.stringify(JSON.parse(body), null, 2);
/** The APIs the cookbook shows: every agent of a node, and the fleet hub service run beside them. */
export const COOKBOOK_APIS: readonly AgentApi<ServiceId>[] = [...Object.values(CATALOG), HUB_CATALOG.fleet];
const apis = () => COOKBOOK_APIS;

function showsSomething(shown: string): void {
  if (!shown.trim() || shown.includes('(captured)'))
    throw new Error('an output block is empty: run with OUTPOST_COOKBOOK_WRITE=1 to capture it');
}

/** The JSON body of an output as shown (after any header lines). */
function jsonPart(shown: string): string {
  const start = shown.indexOf('{');
  if (start < 0) throw new Error(`no JSON body in the output shown:\n${shown}`);
  return shown.slice(start);
}

/** What `# comment` after a sample asks of it. */
interface Expectation {
  /** `fails: 422`: the reply must be this typed error (Nats-Service-Error-Code). */
  failsWith?: number;
  /** `repeat until "TEXT"`: repeat the command until its output holds TEXT. */
  until?: string;
}

function expectationOf(comment: string): Expectation {
  const fails = /\bfails: (\d{3})\b/.exec(comment);
  const until = /\brepeat until "([^"]+)"/.exec(comment);
  return {
    ...(fails ? { failsWith: Number(fails[1]) } : {}),
    ...(until ? { until: until[1] } : {}),
  };
}

/** NATS subject matching with `*` and `>`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/** Every concrete subject of one node in the catalog, with the schema its messages carry. */
export function catalogSubjects(nodeId: string): Map<string, DescMessage> {
  const all = new Map<string, DescMessage>();
  for (const api of apis()) {
    for (const def of Object.values(api.cmd)) all.set(def.subject(nodeId), def.request);
    for (const def of Object.values(api.evt)) all.set(def.subject(nodeId), def.schema);
    all.set(StatusApi.subject(nodeId, api.agent), StatusApi.schema);
  }
  return all;
}

/** The contract of a KV key, or 'lease' for the orchestrators' JSON leases, or undefined if unknown. */
export function kvContract(bucket: string, key: string, nodeId: string): DescMessage | 'lease' | undefined {
  if (bucket === KV_STATUS) {
    for (const api of apis()) if (key === kvKeys.status(nodeId, api.agent)) return AgentStatusSchema;
    const byKey: Record<string, DescMessage> = {
      [kvKeys.nodeHealth(nodeId)]: NodeHealthSchema,
      [kvKeys.nodeIdentity(nodeId)]: NodeIdentitySchema,
      [kvKeys.hardwareInventory(nodeId)]: InventorySchema,
      [kvKeys.clusterState(nodeId)]: ClusterStatusSchema,
      [kvKeys.updateState(nodeId)]: UpdateStatusSchema,
      [kvKeys.orchestratorHistory(nodeId)]: HistoryReplySchema,
      [kvKeys.telemetryEffective(nodeId)]: TelemetryConfigSchema,
    };
    if (byKey[key]) return byKey[key];
    if (/^rollout\.[A-Za-z0-9_-]+\.lease-\d+$/.test(key)) return 'lease';
  }
  if (bucket === KV_DESIRED) {
    const byKey: Record<string, DescMessage> = {
      [kvKeys.desired(nodeId, 'cluster')]: ClusterDesiredSchema,
      [kvKeys.desiredUpdate(nodeId)]: DesiredUpdateSchema,
      [kvKeys.desired(nodeId, 'telemetry')]: TelemetryProfileSchema,
      [kvKeys.fleetTelemetry()]: TelemetryProfileSchema,
    };
    return byKey[key];
  }
  return undefined;
}

function decodeKv(bucket: string, key: string, value: Uint8Array, nodeId: string): void {
  const contract = kvContract(bucket, key, nodeId);
  if (!contract)
    throw new Error(`${bucket} ${key} is not a key of the contracts (libs/contracts/src/storage.ts)`);
  if (contract === 'lease') {
    const lease = JSON.parse(text(value)) as Record<string, unknown>;
    if (typeof lease.holder !== 'string' || typeof lease.expiresAt !== 'number')
      throw new Error(`${key}: not a lease ${text(value)}`);
    return;
  }
  decode(contract, value);
}

export interface RunnerHooks {
  /** Called after a `kv put` to edge_desired: resolves once the owning agent has acted on the value. */
  actedOn(key: string, value: string): Promise<void>;
}

interface OpenSub {
  subject: string;
  count: number;
  sub: Subscription;
  messages: Msg[];
  line: number;
  output?: (text: string) => void;
}

export interface SampleResult {
  pipeline: Pipeline;
  output: string;
}

export class CookbookRunner {
  readonly env = new Map<string, string>();
  /** Catalog patterns (`node.cmd.health`) that answered a sample without an error. */
  readonly succeeded = new Set<string>();
  /** Catalog patterns with a sample that expected (and got) a typed error. */
  readonly failedAsDocumented = new Set<string>();
  /** Every `nats sub` subject of the document. */
  readonly subscribed: string[] = [];
  readonly puts: { bucket: string; key: string }[] = [];
  private readonly subs: OpenSub[] = [];
  /** Checks a captured output of the last command, as shown in the document. */
  lastCheck: (shown: string) => void = showsSomething;

  constructor(
    private readonly nc: NatsConnection,
    /** The operator's working directory: `cat FILE` reads from here. */
    private readonly cwd: string,
    private readonly hooks: RunnerHooks,
  ) {}

  private get node(): string {
    return this.env.get('NODE') ?? '';
  }

  /** Runs one sample pipeline; returns what it prints on stdout (for output blocks). */
  async run(pipeline: Pipeline): Promise<string> {
    const [first, ...rest] = pipeline.commands;
    const assign = pipeline.commands.length === 1 && first.length === 1 ? assignment(first[0]) : undefined;
    if (assign) {
      const value = await this.expand(assign.value);
      if (value === '') throw new Error(`line ${pipeline.line}: ${assign.name} came out empty`);
      this.env.set(assign.name, value);
      return '';
    }
    if (rest.length > 0) throw new Error(`line ${pipeline.line}: pipes are only supported inside $(…)`);
    return this.command(first, pipeline.line, expectationOf(pipeline.comment));
  }

  private async expand(word: Word): Promise<string> {
    let out = '';
    for (const part of word) {
      if (part.t === 'lit') out += part.v;
      else if (part.t === 'var') {
        const v = this.env.get(part.name);
        if (v === undefined) throw new Error(`$${part.name} is used before the cookbook sets it`);
        out += v;
      } else {
        const inner = parseShell(part.script, part.line);
        if (inner.length !== 1) throw new Error(`line ${part.line}: $(…) must hold one pipeline`);
        out += (await this.pipe(inner[0])).replace(/\n+$/, '');
      }
    }
    return out;
  }

  /** `nats … | jq …` or `cat FILE` inside $(…): its stdout. */
  private async pipe(pipeline: Pipeline): Promise<string> {
    const [first, ...filters] = pipeline.commands;
    const argv0 = literal(first[0]);
    let out: string;
    if (argv0 === 'cat') {
      if (first.length !== 2) throw new Error(`line ${pipeline.line}: cat takes one file`);
      const file = await this.expand(first[1]);
      if (!/^[\w.-]+$/.test(file))
        throw new Error(`line ${pipeline.line}: cat ${file}: a plain file name only`);
      out = readFileSync(join(this.cwd, file), 'utf8');
    } else out = await this.command(first, pipeline.line, {});
    for (const filter of filters) {
      if (literal(filter[0]) !== 'jq') throw new Error(`line ${pipeline.line}: only jq may follow a pipe`);
      const args = await Promise.all(filter.slice(1).map((w) => this.expand(w)));
      out = execFileSync('jq', args, { input: out, encoding: 'utf8' });
    }
    return out;
  }

  private async command(words: Word[], line: number, expect: Expectation): Promise<string> {
    if (literal(words[0]) !== 'nats')
      throw new Error(`line ${line}: only \`nats\` commands (and NAME=$(…)) may stand in a sh block`);
    const argv = await Promise.all(words.slice(1).map((w) => this.expand(w)));
    this.lastCheck = showsSomething;
    let cmd: NatsCommand;
    try {
      cmd = parseNats(argv);
    } catch (err) {
      throw new Error(`line ${line}: ${(err as Error).message}`);
    }
    if (expect.until) {
      return eventually(async () => {
        const out = await this.execute(cmd, line, expect);
        if (!out.includes(expect.until ?? ''))
          throw new Error(`line ${line}: no "${expect.until}" yet in\n${out}`);
        return out;
      });
    }
    return this.execute(cmd, line, expect);
  }

  private async execute(cmd: NatsCommand, line: number, expect: Expectation): Promise<string> {
    const where = `line ${line} (nats ${cmd.kind})`;
    switch (cmd.kind) {
      case 'req':
        return this.request(cmd.subject, cmd.body, where, expect);
      case 'pub': {
        const def = this.commandDef(cmd.subject, where);
        decode(def.request, new TextEncoder().encode(cmd.body));
        this.nc.publish(cmd.subject, cmd.body);
        await this.nc.flush();
        return '';
      }
      case 'sub':
        return this.subscribe(cmd.subject, cmd.count ?? 1, line);
      case 'kv get': {
        const kv = await new Kvm(this.nc).open(cmd.bucket);
        const entry = await kv.get(cmd.key);
        if (!entry || entry.operation !== 'PUT')
          throw new Error(`${where}: ${cmd.bucket} ${cmd.key} has no value`);
        decodeKv(cmd.bucket, cmd.key, entry.value, this.node);
        if (cmd.raw) return `${entry.string()}\n`;
        return `${cmd.bucket} > ${cmd.key} revision: ${entry.revision} created @ ${entry.created.toUTCString()}\n\n${entry.string()}\n`;
      }
      case 'kv put': {
        if (cmd.bucket !== KV_DESIRED)
          throw new Error(`${where}: operators write desired state only (${KV_DESIRED})`);
        decodeKv(cmd.bucket, cmd.key, new TextEncoder().encode(cmd.value), this.node);
        const kv = await new Kvm(this.nc).open(cmd.bucket);
        await kv.put(cmd.key, cmd.value);
        this.puts.push({ bucket: cmd.bucket, key: cmd.key });
        await this.hooks.actedOn(cmd.key, cmd.value);
        return `${cmd.value}\n`;
      }
      case 'kv watch': {
        const kv = await new Kvm(this.nc).open(cmd.bucket);
        const watch = await kv.watch(cmd.key ? { key: cmd.key } : {});
        try {
          for await (const e of watch) {
            decodeKv(cmd.bucket, e.key, e.value, this.node);
            return `[${e.created.toISOString()}] ${e.operation} ${cmd.bucket} > ${e.key}: ${e.string()}\n`;
          }
        } finally {
          watch.stop();
        }
        throw new Error(`${where}: the watch ended without an entry`);
      }
      case 'kv ls': {
        const kv = await new Kvm(this.nc).open(cmd.bucket);
        const keys: string[] = [];
        for await (const k of await kv.keys()) keys.push(k);
        const mine = keys.filter((k) => k.startsWith(`${this.node}.`)).sort();
        for (const k of mine)
          if (!kvContract(cmd.bucket, k, this.node))
            throw new Error(`${where}: ${k} is not a key of the contracts`);
        if (mine.length === 0) throw new Error(`${where}: no key of node ${this.node}`);
        return `${keys.sort().join('\n')}\n`;
      }
      case 'micro ls':
      case 'micro ping':
        return this.microPing(
          cmd.kind === 'micro ping' ? cmd.service : undefined,
          cmd.kind === 'micro ls',
          where,
        );
      case 'micro info':
      case 'micro stats':
        return this.microInfo(cmd.kind === 'micro info' ? 'INFO' : 'STATS', cmd.service, cmd.json, where);
      case 'stream view':
        return this.streamView(cmd.stream, cmd.subject, where);
    }
  }

  private commandDef(subject: string, where: string): CommandDef {
    const parsed = parseSubject(subject);
    if (!parsed || parsed.kind !== 'cmd' || parsed.nodeId !== this.node)
      throw new Error(`${where}: ${subject} is not a command subject of node $NODE`);
    const def = catalogEntry(`${parsed.agent}.cmd.${parsed.name}`);
    if (def?.kind !== 'cmd') throw new Error(`${where}: ${subject} is not in the catalog`);
    return def;
  }

  private async request(subject: string, body: string, where: string, expect: Expectation): Promise<string> {
    const def = this.commandDef(subject, where);
    const reply = await this.nc.request(subject, body, { timeout: 10_000 });
    const code = reply.headers?.get('Nats-Service-Error-Code');
    if (expect.failsWith !== undefined) {
      if (code !== String(expect.failsWith))
        throw new Error(
          `${where}: expected error ${expect.failsWith}, got ${code || 'success'}: ${reply.string()}`,
        );
      const error = decode(ErrorReplySchema, reply.data);
      if (httpCodeOf(error.code) !== expect.failsWith)
        throw new Error(`${where}: ErrorReply code does not match`);
      this.failedAsDocumented.add(def.pattern);
      this.lastCheck = (shown) => {
        if (!shown.includes(`Nats-Service-Error-Code: ${expect.failsWith}`))
          throw new Error(`the output shown for ${subject} lacks its Nats-Service-Error-Code`);
        decodeJsonText(ErrorReplySchema, jsonPart(shown));
      };
      const message = reply.headers?.get('Nats-Service-Error') ?? '';
      return `Nats-Service-Error: ${message}\nNats-Service-Error-Code: ${code}\n\n${pretty(reply.string())}\n`;
    }
    decode(def.request, new TextEncoder().encode(body));
    if (code) throw new Error(`${where}: ${subject} answered error ${code}: ${reply.string()}`);
    decode(def.reply, reply.data);
    this.succeeded.add(def.pattern);
    this.lastCheck = (shown) => void decodeJsonText(def.reply, jsonPart(shown));
    return `${pretty(reply.string())}\n`;
  }

  private async subscribe(subject: string, count: number, line: number): Promise<string> {
    const known = [...catalogSubjects(this.node).keys()];
    if (!known.some((s) => subjectMatches(subject, s)))
      throw new Error(`line ${line}: nats sub ${subject} matches no subject of the catalog`);
    this.subscribed.push(subject);
    const open: OpenSub = { subject, count, line, messages: [], sub: this.nc.subscribe(subject) };
    void (async () => {
      for await (const m of open.sub) open.messages.push(m);
    })();
    await this.nc.flush();
    this.subs.push(open);
    return '';
  }

  /**
   * Ends every `nats sub` the samples opened: each must have received its messages (at least one),
   * and every message must decode with its subject's schema. Returns the first message of each.
   */
  async closeSubscriptions(): Promise<Map<number, string>> {
    const schemas = catalogSubjects(this.node);
    const firsts = new Map<number, string>();
    for (const open of this.subs) {
      await eventually(() => {
        if (open.messages.length < open.count)
          throw new Error(
            `line ${open.line}: nats sub ${open.subject} received ${open.messages.length} of ${open.count}`,
          );
      });
      open.sub.unsubscribe();
      for (const m of open.messages) {
        const schema = schemas.get(m.subject);
        if (!schema) throw new Error(`line ${open.line}: ${m.subject} is not a subject of the catalog`);
        if (m.reply) continue; // a request another sample sent: its body was checked there
        decode(schema, m.data);
      }
      const m = open.messages[0];
      firsts.set(open.line, `[#1] Received on "${m.subject}"\n${pretty(m.string())}\n`);
    }
    return firsts;
  }

  private async microPing(service: string | undefined, table: boolean, where: string): Promise<string> {
    const replies: Record<string, unknown>[] = [];
    const subject = service
      ? `$SRV.${table ? 'INFO' : 'PING'}.${service}`
      : `$SRV.${table ? 'INFO' : 'PING'}`;
    for await (const m of await this.nc.requestMany(subject, '', { maxWait: 1000 }))
      replies.push(JSON.parse(m.string()) as Record<string, unknown>);
    const names = new Set(replies.map((r) => r.name as string));
    for (const api of apis())
      if (!service && !names.has(`outpost-${api.agent}`))
        throw new Error(`${where}: outpost-${api.agent} did not answer`);
    if (service && replies.length === 0) throw new Error(`${where}: ${service} did not answer`);
    const rows = replies.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    if (!table)
      return rows.map((r) => `${String(r.name)} ${String(r.id)} ${String(r.version)}`).join('\n') + '\n';
    return rows
      .map((r) =>
        [r.name, r.version, r.id, r.description]
          .map((c) => String(c).padEnd(22))
          .join(' ')
          .trimEnd(),
      )
      .join('\n')
      .concat('\n');
  }

  private async microInfo(
    kind: 'INFO' | 'STATS',
    service: string,
    json: boolean,
    where: string,
  ): Promise<string> {
    const agent = /^outpost-(.+)$/.exec(service)?.[1];
    const api = COOKBOOK_APIS.find((a) => a.agent === agent);
    if (!api) throw new Error(`${where}: ${service} is not outpost-<agent> of a catalog agent`);
    let found: Record<string, unknown> | undefined;
    for await (const m of await this.nc.requestMany(`$SRV.${kind}.${service}`, '', { maxWait: 1000 })) {
      const body = JSON.parse(m.string()) as { metadata?: Record<string, string> };
      if (!this.node || body.metadata?.node_id === this.node) found = body;
    }
    if (!found) throw new Error(`${where}: no ${service} of node ${this.node || '(any)'} answered`);
    const endpoints = (found.endpoints as { subject: string }[]).map((e) => e.subject).sort();
    const nodeId = (found.metadata as Record<string, string>).node_id;
    const wanted = Object.values(api.cmd)
      .map((d) => d.subject(nodeId))
      .sort();
    if (JSON.stringify(endpoints) !== JSON.stringify(wanted))
      throw new Error(
        `${where}: endpoints ${endpoints.join(' ')} differ from the catalog's ${wanted.join(' ')}`,
      );
    if (json) return `${JSON.stringify(found, null, 2)}\n`;
    // The gist of what the CLI prints without --json: the service and its endpoints.
    const lines = [`Service: ${String(found.name)} (${String(found.id)}) ${String(found.version ?? '')}`];
    for (const e of found.endpoints as Record<string, unknown>[])
      lines.push(
        kind === 'INFO'
          ? `  ${String(e.name)}: ${String(e.subject)} (queue ${String(e.queue_group)})`
          : `  ${String(e.name)}: ${String(e.num_requests)} requests, ${String(e.num_errors)} errors`,
      );
    return `${lines.join('\n')}\n`;
  }

  private async streamView(stream: string, subject: string | undefined, where: string): Promise<string> {
    if (stream !== EVENT_STREAM) throw new Error(`${where}: the event stream is ${EVENT_STREAM}`);
    const info = await (await jetstreamManager(this.nc)).streams.info(stream);
    if (info.state.messages === 0) throw new Error(`${where}: ${stream} is empty`);
    const consumer = await jetstream(this.nc).consumers.get(
      stream,
      subject ? { filter_subjects: subject } : {},
    );
    const shown: string[] = [];
    const batch = await consumer.fetch({ max_messages: 200, expires: 2000 });
    for await (const m of batch) {
      const parsed = parseSubject(m.subject);
      const def = parsed?.kind === 'evt' ? catalogEntry(`${parsed.agent}.evt.${parsed.name}`) : undefined;
      if (def?.kind !== 'evt') throw new Error(`${where}: ${m.subject} in ${stream} is not a catalog event`);
      decode(def.schema, m.data);
      if (shown.length < 3)
        shown.push(`[${m.seq}] Subject: ${m.subject} Received: ${m.time.toISOString()}\n${m.string()}\n`);
      if (m.info.pending === 0) break;
    }
    if (shown.length === 0) throw new Error(`${where}: nothing to view${subject ? ` on ${subject}` : ''}`);
    return shown.join('\n');
  }
}
