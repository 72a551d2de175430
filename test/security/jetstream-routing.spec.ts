/**
 * No agent user can make JetStream route or copy messages: on a real nats-server with the configuration
 * @outpost/nats-config renders, provisioned as the installer does (the admin, provisionAsAdmin), every
 * user of the permission table (each agent's in split mode, edge-node in all-in-one mode — a new agent
 * row is covered without touching this file) tries every JetStream API that can route or copy
 * messages — stream create and update with a republish onto a command subject it may not send, with
 * subjects over it, with sources or a mirror; consumer create (ephemeral, named, durable, and over the
 * provisioned watch consumers) with a deliver subject there; MSG.GET, direct get and MSG.NEXT on
 * streams and consumers that are not its own — against every stream of the node. The server must
 * refuse each one, and after the user publishes into everything it may publish to, nothing reaches a
 * subject it did not publish to. The same attacks made as the unrestricted admin go through and
 * deliver: the probe would see the hole if a grant let one through.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nkeyAuthenticator, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { CATALOG, inboxPrefixOf } from '@outpost/contracts';
import {
  nodeUsers,
  provisionAsAdmin,
  readSeedFile,
  writeNatsConfig,
  type DeploymentMode,
  type NatsConfigResult,
  type NatsUser,
} from '@outpost/nats-config';
import { connectTo, eventually, startNatsServer, type NatsServerHandle } from '@outpost/testing';

const NODE = 'probe1';
const FORGED = '{"forged":true}';
const utf8 = new TextDecoder();

/** NATS subject matching: `*` one token, `>` one or more at the end. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

const allowed = (user: NatsUser, subject: string) =>
  user.permissions === undefined || user.permissions.publish.allow.some((p) => matches(p, subject));

/** A command subject of the node that `user` may not publish to: what a forgery would aim at. */
function forbiddenCommand(user: NatsUser): string {
  for (const api of Object.values(CATALOG))
    for (const def of Object.values(api.cmd)) {
      const subject = def.subject(NODE);
      if (!allowed(user, subject)) return subject;
    }
  throw new Error(`${user.name} may publish every command`);
}

/** A literal subject inside a stream's subject pattern. */
const literal = (pattern: string) => pattern.replace(/\.>$/, '.probe').replaceAll('*', 'probe');

/** Literal subjects the user may publish to (wildcard grants instantiated with a probe token). */
function ownSubjects(user: NatsUser): string[] {
  return (user.permissions?.publish.allow ?? [])
    .filter((s) => !s.startsWith('$JS.') && !s.startsWith('$KV.') && !s.includes('.cmd.'))
    .map(literal);
}

interface Stream {
  name: string;
  config: StreamConfig;
  consumers: { name: string; filter?: string }[];
}

interface Attack {
  what: string;
  subject: string;
  body: unknown;
}

/** Every routing or copying JetStream request against the node's streams, aimed at `target`. */
function attacks(user: NatsUser, streams: Stream[], target: string, own: string[]): Attack[] {
  const src = own[0] ?? `outpost.${NODE}.probe`;
  const out: Attack[] = [];
  for (const name of [...streams.map((s) => s.name), 'ROGUE']) {
    const create = (what: string, config: Partial<StreamConfig>) =>
      out.push({
        what: `${what} ${name}`,
        subject: `$JS.API.STREAM.CREATE.${name}`,
        body: { name, ...config },
      });
    create('stream create with republish onto a command', {
      subjects: [src],
      republish: { src, dest: target },
    });
    create('stream create over a command subject', { subjects: [target] });
    create('stream create sourcing every stream', {
      subjects: [src],
      sources: streams.map((s) => ({ name: s.name })),
      republish: { src: '>', dest: target },
    });
    create('stream create mirroring', { mirror: { name: streams[0].name } });
  }
  for (const s of streams) {
    const first = s.config.subjects?.[0] ?? '>';
    const one = literal(first);
    const config = { ...s.config, republish: { src: first, dest: target } };
    out.push({
      what: `stream update with republish ${s.name}`,
      subject: `$JS.API.STREAM.UPDATE.${s.name}`,
      body: config,
    });
    out.push({
      what: `stream update over a command subject ${s.name}`,
      subject: `$JS.API.STREAM.UPDATE.${s.name}`,
      body: { ...s.config, subjects: [...(s.config.subjects ?? []), target] },
    });
    const push = { deliver_subject: target, deliver_policy: 'all', ack_policy: 'none' };
    out.push({
      what: `ephemeral push consumer ${s.name}`,
      subject: `$JS.API.CONSUMER.CREATE.${s.name}`,
      body: { stream_name: s.name, config: push },
    });
    out.push({
      what: `durable push consumer ${s.name}`,
      subject: `$JS.API.CONSUMER.DURABLE.CREATE.${s.name}.rogue`,
      body: { stream_name: s.name, config: { ...push, durable_name: 'rogue' } },
    });
    // Named (2.9 CONSUMER.CREATE.<stream>.<name>.<filter>), also under the provisioned consumers' names.
    for (const c of [{ name: 'rogue', filter: one }, ...s.consumers]) {
      const filter = c.filter ?? one;
      out.push({
        what: `named push consumer ${s.name}.${c.name}`,
        subject: `$JS.API.CONSUMER.CREATE.${s.name}.${c.name}.${filter}`,
        body: {
          stream_name: s.name,
          config: { ...push, name: c.name, durable_name: c.name, filter_subject: filter },
        },
      });
    }
    // Reads of streams and consumers that are not its own.
    const read = (what: string, subject: string, body: unknown) => {
      if (!allowed(user, subject)) out.push({ what: `${what} ${s.name}`, subject, body });
    };
    read('MSG.GET', `$JS.API.STREAM.MSG.GET.${s.name}`, { last_by_subj: one });
    read('direct get', `$JS.API.DIRECT.GET.${s.name}`, { last_by_subj: one });
    read('direct get by subject', `$JS.API.DIRECT.GET.${s.name}.${one}`, '');
    for (const c of s.consumers)
      read(`MSG.NEXT ${c.name}`, `$JS.API.CONSUMER.MSG.NEXT.${s.name}.${c.name}`, {
        batch: 1,
        no_wait: true,
      });
  }
  return out;
}

/** What arrives on the node's subjects, and on one target subject. */
class Observer {
  readonly seen: Msg[] = [];
  readonly onTarget: Msg[] = [];
  private readonly subs: Subscription[] = [];
  constructor(private readonly nc: NatsConnection) {}
  watchNode(): void {
    this.subs.push(this.nc.subscribe(`edge.${NODE}.>`, { callback: (_e, m) => void this.seen.push(m) }));
  }
  /** A literal subscription: nats-server 2.9 starts a push consumer's delivery on literal interest. */
  watchTarget(subject: string): void {
    this.subs.push(this.nc.subscribe(subject, { callback: (_e, m) => void this.onTarget.push(m) }));
  }
  async flush(): Promise<void> {
    await this.nc.flush();
  }
  close(): void {
    for (const s of this.subs) s.unsubscribe();
  }
}

type Outcome = { refused: 'permission' } | { refused: 'jetstream'; error: string } | { accepted: true };

async function attempt(nc: NatsConnection, a: Attack): Promise<Outcome> {
  try {
    const reply = await nc.request(a.subject, typeof a.body === 'string' ? a.body : JSON.stringify(a.body), {
      timeout: 3000,
    });
    const status = reply.headers?.code ?? 0;
    if (status >= 400)
      return { refused: 'jetstream', error: `${status} ${reply.headers?.description ?? ''}` };
    const text = utf8.decode(reply.data);
    const error = text.startsWith('{')
      ? (JSON.parse(text) as { error?: { description?: string } }).error
      : undefined;
    return error ? { refused: 'jetstream', error: String(error.description) } : { accepted: true };
  } catch (err) {
    if (/permission/i.test(String(err))) return { refused: 'permission' };
    throw err;
  }
}

interface Node {
  dir: string;
  nats: NatsServerHandle;
  config: NatsConfigResult;
  admin: NatsConnection;
  streams: Stream[];
}

async function startNode(mode: DeploymentMode): Promise<Node> {
  const dir = await mkdtemp(join(tmpdir(), `outpost-routing-${mode}-`));
  const config = await writeNatsConfig({
    nodeId: NODE,
    outDir: join(dir, 'nats'),
    storeDir: join(dir, 'js'),
    mode,
  });
  const nats = await startNatsServer({ configFile: config.configFile });
  const adminSeed = seedFile(config, 'admin');
  await provisionAsAdmin(nats.url, adminSeed, NODE);
  const admin = await connectTo(nats, { authenticator: nkeyAuthenticator(await readSeedFile(adminSeed)) });
  const jsm = await jetstreamManager(admin);
  const streams: Stream[] = [];
  for await (const info of jsm.streams.list()) {
    const consumers = [];
    for await (const c of jsm.consumers.list(info.config.name))
      consumers.push({ name: c.name, filter: c.config.filter_subject });
    streams.push({ name: info.config.name, config: info.config, consumers });
  }
  // Something to read and to copy in every stream.
  for (const s of streams) {
    const first = s.config.subjects?.[0];
    if (first) await jetstreamClientPublish(admin, literal(first));
  }
  return { dir, nats, config, admin, streams };
}

async function jetstreamClientPublish(nc: NatsConnection, subject: string): Promise<void> {
  const ack = await nc.request(subject, FORGED, { timeout: 3000 });
  expect(utf8.decode(ack.data)).toContain('"seq"');
}

function seedFile(config: NatsConfigResult, user: string): string {
  const u = config.users.find((x) => x.name === user);
  if (!u) throw new Error(`no user ${user}`);
  return u.seedFile;
}

async function stopNode(node: Node | undefined): Promise<void> {
  await node?.admin.close();
  await node?.nats.stop();
  if (node) await rm(node.dir, { recursive: true, force: true });
}

describe.each<DeploymentMode>(['split', 'all-in-one'])(
  'JetStream routing on a provisioned node (%s)',
  (mode) => {
    let node: Node;
    const users = nodeUsers(NODE, mode).filter((u) => u.permissions !== undefined);

    beforeAll(async () => {
      node = await startNode(mode);
    });

    afterAll(async () => {
      await stopNode(node);
    });

    it('provisioned every stream and watch consumer of the table, each without a deliver subject or republish', () => {
      const names = node.streams.map((s) => s.name).sort();
      expect(names).toEqual(
        expect.arrayContaining([
          'EDGE_EVENTS',
          'KV_edge_desired',
          'KV_edge_status',
          'OBS_BUFFER_OTLP_METRICS',
        ]),
      );
      for (const s of node.streams) {
        expect({
          stream: s.name,
          republish: s.config.republish,
          sources: s.config.sources,
          mirror: s.config.mirror,
        }).toEqual({
          stream: s.name,
          republish: undefined,
          sources: undefined,
          mirror: undefined,
        });
      }
      const consumers = node.streams.flatMap((s) => s.consumers.map((c) => `${s.name}/${c.name}`));
      expect(consumers).toEqual(
        expect.arrayContaining(['KV_edge_desired/kvw_probe1_orchestrator_probe1-update']),
      );
    });

    it.each(users.map((u) => [u.name, u] as const))(
      'the %s user is refused every routing or copying JetStream request, and nothing it publishes lands elsewhere',
      async (_name, user) => {
        const target = forbiddenCommand(user);
        const own = ownSubjects(user);
        const list = attacks(user, node.streams, target, own);
        expect(list.length).toBeGreaterThan(node.streams.length * 8);
        const observer = new Observer(node.admin);
        observer.watchNode();
        observer.watchTarget(target);
        await observer.flush();
        const nc = await connectTo(node.nats, {
          authenticator: nkeyAuthenticator(await readSeedFile(seedFile(node.config, user.name))),
          inboxPrefix: inboxPrefixOf(user.name),
        });
        try {
          const outcomes: Record<string, Outcome> = {};
          for (const a of list) outcomes[`${a.what} (${a.subject})`] = await attempt(nc, a);
          const through = Object.entries(outcomes).filter(
            ([, o]) => !('refused' in o && o.refused === 'permission'),
          );
          expect({ user: user.name, through }).toEqual({ user: user.name, through: [] });

          // Publish into everything it may: its events and status, its streams' subjects.
          const published = new Map<string, number>();
          for (const subject of own) {
            nc.publish(subject, FORGED);
            published.set(subject, (published.get(subject) ?? 0) + 1);
          }
          await nc.flush();
          // A second target subscription made after the attempts, for a push consumer waiting on interest.
          observer.watchTarget(target);
          await observer.flush();
          await new Promise((r) => setTimeout(r, 1000));
          expect({ user: user.name, onTarget: observer.onTarget.map((m) => m.subject) }).toEqual({
            user: user.name,
            onTarget: [],
          });
          const seen = new Map<string, number>();
          for (const m of observer.seen) seen.set(m.subject, (seen.get(m.subject) ?? 0) + 1);
          const expected = new Map([...published].filter(([s]) => s.startsWith(`edge.${NODE}.`)));
          expect({ user: user.name, seen: Object.fromEntries(seen) }).toEqual({
            user: user.name,
            seen: Object.fromEntries(expected),
          });
        } finally {
          observer.close();
          await nc.close();
        }
      },
    );

    it('the same attacks as the unrestricted admin go through and deliver onto the target (the probe is real)', async () => {
      const agentUser = users[0];
      const target = forbiddenCommand(agentUser);
      // Generated as for a user granted nothing, so the reads of every stream are in the list too.
      const nobody: NatsUser = {
        name: 'admin',
        agents: [],
        permissions: { publish: { allow: [] }, subscribe: { allow: [] }, allow_responses: true },
      };
      const list = attacks(nobody, node.streams, target, [`outpost.${NODE}.control`]);
      const observer = new Observer(node.admin);
      observer.watchTarget(target);
      await observer.flush();
      const jsm = await jetstreamManager(node.admin);
      try {
        // A republish: what the observability user did in issue 19.
        const republish = list.find((a) => a.what === 'stream create with republish onto a command ROGUE');
        if (!republish) throw new Error('no republish attack');
        expect(await attempt(node.admin, republish)).toEqual({ accepted: true });
        await jetstreamClientPublish(node.admin, `outpost.${NODE}.control`);
        await eventually(() => expect(observer.onTarget.map((m) => utf8.decode(m.data))).toContain(FORGED));
        await jsm.streams.delete('ROGUE');

        // A durable push consumer on the event stream, delivering onto the command subject.
        const before = observer.onTarget.length;
        const push = list.find((a) => a.what === 'durable push consumer EDGE_EVENTS');
        if (!push) throw new Error('no push consumer attack');
        expect(await attempt(node.admin, push)).toEqual({ accepted: true });
        observer.watchTarget(target);
        await eventually(() => expect(observer.onTarget.length).toBeGreaterThan(before));
        await jsm.consumers.delete('EDGE_EVENTS', 'rogue');

        // Reads of other streams answer with their messages.
        for (const what of ['MSG.GET KV_edge_status', 'direct get KV_edge_status']) {
          const read = list.find((a) => a.what === what);
          if (!read) throw new Error(`no ${what}`);
          expect({ what, outcome: await attempt(node.admin, read) }).toEqual({
            what,
            outcome: { accepted: true },
          });
        }
      } finally {
        observer.close();
      }
    });
  },
);
