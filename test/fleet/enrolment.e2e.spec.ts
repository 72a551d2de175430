/**
 * Enrolment on a real operator-mode hub: three clustered nats-servers with the full account resolver
 * (deploy/nats/hub-operator.conf, accounts from @outpost/nats-config), the enrolment service as its own
 * process (apps/enrolment-service), and two nodes whose servers are rendered by the production renderer
 * with a credentials-based leaf remote. Each node enrols with `outpostctl enrol` and a one-time token,
 * and from then on the hub's server confines it to edge.<node>.> and its own JetStream domain. Node
 * credentials live 20 s here, so they rotate several times during the suite (a renewer does what the
 * node's timer does); revoking a node cuts its leaf off for good. The fleet service runs there under its
 * own hub user too (fleet.creds, like every hub service's), reading the nodes' events and writing a
 * rollout into a node's domain.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { create } from '@bufbuild/protobuf';
import { encodeGeneric } from '@nats-io/jwt';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { createAccount } from '@nats-io/nkeys';
import { credsAuthenticator, nkeyAuthenticator, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { nodeKvm, provisionFleetEvents, provisionStores } from '@outpost/bus';
import {
  ContractError,
  encode,
  ErrorCode,
  EVENT_STREAM,
  FLEET_EVENT_STREAM,
  HeartbeatSchema,
  KV_DESIRED,
  KV_ENROLMENT_TOKENS,
  kvKeys,
  NodeApi,
} from '@outpost/contracts';
import {
  createHubAccounts,
  provisionAsAdmin,
  readSeedFile,
  renderHubResolver,
  writeHubAccounts,
  writeNatsConfig,
  type HubAccountFiles,
  type HubAccounts,
} from '@outpost/nats-config';
import { enrolNode, readCredsLifetime, renewalDue, renewNode } from '@outpost/agent-enrolment';
import {
  connectTo,
  eventually,
  freePort,
  makeFleetCerts,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { ROOT, startApp, type AppProcess } from '../e2e/app-process.js';
import { hubOperatorConfig } from './fleet-config.js';

const run = promisify(execFile);
const NODE_IDS = ['enrol-a', 'enrol-b'] as const;
type NodeId = (typeof NODE_IDS)[number];
const [A, B] = NODE_IDS;
const SLOW = 240_000;
const CREDENTIALS_TTL_S = 20;
const text = (m: Msg) => new TextDecoder().decode(m.data);
const json = (m: Msg) => JSON.parse(text(m));

interface Node {
  id: NodeId;
  dir: string;
  server: NatsServerHandle;
  /** The node's admin on its own server (an operator on site, and the node's "agents" here). */
  local: NatsConnection;
  keyFile: string;
  credsFile: string;
  hardwareId: string;
}

describe('enrolment: nodes join an operator-mode hub with their own keys and are confined to their subjects', () => {
  let dir: string;
  let accounts: HubAccounts;
  let files: HubAccountFiles;
  const hub: NatsServerHandle[] = [];
  let hubUrls: string;
  let admin: NatsConnection;
  let system: NatsConnection;
  /** The public ENROL user, as a node connects before it has credentials. */
  let enrolNc: NatsConnection;
  let hubJsm: JetStreamManager;
  let service: AppProcess;
  /** The fleet service under its own hub user (fleet.creds), started by its test. */
  let fleetService: AppProcess | undefined;
  const nodes = new Map<NodeId, Node>();
  const node = (id: NodeId) => nodes.get(id) as Node;
  const tokens = new Map<NodeId, string>();
  const renewals = new Map<NodeId, number>();
  const renewErrors: string[] = [];
  let renewing = true;
  let renewer: Promise<void> | undefined;

  const hubRequest = (subject: string, body: unknown = {}, timeout = 3_000) =>
    admin.request(subject, JSON.stringify(body), { timeout });

  async function createToken(
    body: Record<string, unknown>,
  ): Promise<{ token: string; tokenId: string; expiresAt: string }> {
    const reply = await hubRequest('edge.hub.enrolment.cmd.create-token', body);
    expect(reply.headers?.get('Nats-Service-Error-Code') ?? '').toBe('');
    return json(reply);
  }

  function outpostctl(args: string[], creds: string) {
    return run(
      process.execPath,
      [join(ROOT, 'apps/outpostctl/dist/main.js'), '-s', hubUrls, '--creds', creds, ...args],
      {
        env: { PATH: process.env.PATH },
      },
    );
  }

  /** Leaf connections of the FLEET account on the whole hub, by the server name of the node ($SYS LEAFZ). */
  async function fleetLeafs(): Promise<number> {
    let count = 0;
    for await (const m of await system.requestMany('$SYS.REQ.SERVER.PING.LEAFZ', '', {
      maxWait: 1_000,
      maxMessages: hub.length,
    })) {
      const leafs = (json(m).data?.leafs ?? []) as { account: string }[];
      count += leafs.filter((l) => l.account === accounts.fleetAccount).length;
    }
    return count;
  }

  /** A request from the hub to a responder on the node answers (the leaf is up and the node may answer). */
  async function reachable(id: NodeId): Promise<boolean> {
    try {
      return text(await hubRequest(`edge.${id}.probe.cmd.ping`, {}, 1_000)) === id;
    } catch {
      return false;
    }
  }

  /** What the node's timer does: renew once two thirds of the credentials' lifetime have passed. */
  async function renewLoop(): Promise<void> {
    while (renewing) {
      for (const id of NODE_IDS) {
        const n = nodes.get(id);
        if (!n || !existsSync(n.credsFile)) continue;
        if (!renewalDue(await readCredsLifetime(n.credsFile), Date.now())) continue;
        try {
          await renewNode({ hub: enrolNc, keyFile: n.keyFile, credsFile: n.credsFile });
          renewals.set(id, (renewals.get(id) ?? 0) + 1);
        } catch (err) {
          renewErrors.push(`${id}: ${String(err)}`);
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-enrol-'));
    const certs = await makeFleetCerts(dir, []);
    accounts = await createHubAccounts();
    files = await writeHubAccounts(join(dir, 'hub'), accounts, join(dir, 'hub-jwt-1'));

    // The hub: three members, each with its own resolver directory (the full resolver keeps them in step).
    const members = await Promise.all(
      [1, 2, 3].map(async (i) => ({
        serverName: `hub-${i}`,
        clusterPort: await freePort(),
        leafPort: await freePort(),
        i,
      })),
    );
    const routes = members.map((m) => m.clusterPort);
    hub.push(
      ...(await Promise.all(
        members.map(async (m) => {
          const resolverConf = join(dir, `resolver-${m.i}.conf`);
          const { writeFile } = await import('node:fs/promises');
          await writeFile(
            resolverConf,
            renderHubResolver(accounts, files.operatorJwt, join(dir, `hub-jwt-${m.i}`)),
          );
          return startNatsServer({
            jetstream: false,
            configText: (storeDir) =>
              hubOperatorConfig({ ...m, storeDir }, routes, certs.hub, relative(storeDir, resolverConf)),
          });
        }),
      )),
    );
    hubUrls = hub.map((h) => h.url).join(',');
    const creds = async (file: string) => credsAuthenticator(await readFile(file));
    admin = await connect({
      servers: hub.map((h) => h.url),
      name: 'hub-operator',
      authenticator: await creds(files.adminCreds),
    });
    system = await connect({
      servers: hub.map((h) => h.url),
      name: 'hub-system',
      authenticator: await creds(files.systemCreds),
    });
    enrolNc = await connect({
      servers: hub.map((h) => h.url),
      name: 'node-enrol',
      authenticator: await creds(files.enrolCreds),
    });
    hubJsm = await eventually(() => jetstreamManager(admin), 60_000);
    // Install time on the hub: the services' status buckets (no event stream), FLEET_EVENTS for both nodes.
    await eventually(() => provisionStores(admin, 3), 60_000);
    await eventually(() => provisionFleetEvents(admin, NODE_IDS, { replicas: 3 }), 60_000);

    await mkdir(join(dir, 'service'));
    service = startApp(
      'enrolment-service',
      simulatedNodeEnv(join(dir, 'service'), hubUrls, {
        OUTPOST_NODE_ID: 'hub',
        OUTPOST_NATS_CREDS_FILE: files.serviceCreds.enrolment,
        OUTPOST_ENROLMENT_FLEET_ACCOUNT: accounts.fleetAccount,
        OUTPOST_ENROLMENT_FLEET_SIGNING_SEED_FILE: files.fleetSigningSeed,
        OUTPOST_ENROLMENT_OPERATOR_SIGNING_SEED_FILE: files.operatorSigningSeed,
        OUTPOST_ENROLMENT_TOKEN_SIGNING_SEED_FILE: files.tokenSigningSeed,
        OUTPOST_ENROLMENT_SYSTEM_CREDS_FILE: files.systemCreds,
        OUTPOST_ENROLMENT_KV_REPLICAS: '3',
        OUTPOST_ENROLMENT_CREDENTIALS_TTL_SECONDS: String(CREDENTIALS_TTL_S),
        OUTPOST_STATUS_INTERVAL_MS: '1000',
      }),
    );
    await eventually(async () => {
      expect(json(await hubRequest('edge.hub.enrolment.cmd.list')).nodes ?? []).toEqual([]);
    }, 60_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\nenrolment service output:\n${service.output().slice(-4_000)}`);
    });

    for (const id of NODE_IDS) {
      const nodeDir = join(dir, id);
      await mkdir(nodeDir);
      const credsFile = join(nodeDir, 'hub.creds');
      // The node's server as deploy/install.sh renders it, with the leaf remote reading the enrolment
      // credentials (not there yet: the remote retries until the node has enrolled).
      const rendered = await writeNatsConfig({
        nodeId: id,
        outDir: join(nodeDir, 'nats'),
        storeDir: join(nodeDir, 'js'),
        mode: 'all-in-one',
        domain: id,
        leaf: {
          urls: members.map((m) => `tls://127.0.0.1:${m.leafPort}`),
          tls: { caFile: certs.ca },
          credentials: credsFile,
        },
      });
      const server = await startNatsServer({ configFile: rendered.configFile });
      const seed = join(rendered.credsDir, 'admin.nk');
      await provisionAsAdmin(server.url, seed, id);
      const local = await connectTo(server, { authenticator: nkeyAuthenticator(await readSeedFile(seed)) });
      // The node's own work: it answers the hub on its subjects.
      local.subscribe(`edge.${id}.probe.cmd.ping`, { callback: (_e, m) => void m.respond(id) });
      await local.flush();
      nodes.set(id, {
        id,
        dir: nodeDir,
        server,
        local,
        keyFile: join(nodeDir, 'hub.nk'),
        credsFile,
        hardwareId: `serial-${id}`,
      });
    }
  }, SLOW);

  afterAll(async () => {
    renewing = false;
    await renewer;
    service?.kill('SIGTERM');
    await service?.exited;
    fleetService?.kill('SIGTERM');
    await fleetService?.exited;
    for (const n of nodes.values()) {
      await n.local.close();
      await n.server.stop();
    }
    await enrolNc?.close();
    await system?.close();
    await admin?.close();
    await Promise.all(hub.map((h) => h.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'enrols both nodes with outpostctl enrol: own key 0600, creds 0600, the leaf connects, nats micro ls lists the service',
    async () => {
      // An operator's tokens: A's with outpostctl, bound to its serial; B's with a plain request.
      const { stdout } = await outpostctl(
        ['enrol', 'token', A, '--hardware-id', node(A).hardwareId, '--json'],
        files.adminCreds,
      );
      tokens.set(A, JSON.parse(stdout).token);
      tokens.set(B, (await createToken({ nodeId: B })).token);
      expect(await fleetLeafs()).toBe(0);

      for (const id of NODE_IDS) {
        const n = node(id);
        const out = await outpostctl(
          [
            'enrol',
            '--token',
            tokens.get(id) as string,
            '--node-id',
            id,
            '--hardware-id',
            n.hardwareId,
            '--key-file',
            n.keyFile,
            '--creds-file',
            n.credsFile,
            '--json',
          ],
          files.enrolCreds,
        );
        const result = JSON.parse(out.stdout);
        expect(result).toMatchObject({ nodeId: id, keyCreated: true, credsFile: n.credsFile });
        expect((await stat(n.keyFile)).mode & 0o777).toBe(0o600);
        expect((await stat(n.credsFile)).mode & 0o777).toBe(0o600);
        // The seed never left the node: the hub's record has only the public key.
        const seed = (await readFile(n.keyFile, 'utf8')).trim();
        const listed = json(await hubRequest('edge.hub.enrolment.cmd.list')).nodes.find(
          (x: { nodeId: string }) => x.nodeId === id,
        );
        expect(listed).toMatchObject({ state: 'ENROLMENT_NODE_STATE_ENROLLED', publicKey: result.publicKey });
        expect(JSON.stringify(listed)).not.toContain(seed);
      }
      // No hub config was edited: the leafs connect as soon as their creds exist.
      await eventually(async () => expect(await fleetLeafs()).toBe(2), 30_000);
      for (const id of NODE_IDS) await eventually(async () => expect(await reachable(id)).toBe(true), 30_000);
      renewer = renewLoop();

      // nats micro ls, from the hub: the enrolment service with its five endpoints.
      const services: { name: string; metadata?: Record<string, string> }[] = [];
      for await (const m of await admin.requestMany('$SRV.INFO', '', { maxWait: 1_000 }))
        services.push(json(m));
      const enrolment = services.find((s) => s.name === 'outpost-enrolment') as {
        endpoints?: { subject: string }[];
        metadata?: Record<string, string>;
      };
      expect(enrolment?.metadata?.node_id).toBe('hub');
      expect(enrolment?.endpoints?.map((e) => e.subject).sort()).toEqual(
        ['create-token', 'enrol', 'list', 'renew', 'revoke'].map((v) => `edge.hub.enrolment.cmd.${v}`),
      );
    },
    SLOW,
  );

  it(
    'each node does its own work: commands from the hub, desired state in its domain, its events in FLEET_EVENTS',
    async () => {
      for (const id of NODE_IDS) {
        await eventually(async () => expect(await reachable(id)).toBe(true), 30_000);
        // The hub writes the node's desired state through $JS.<node>.API (granted: its own domain).
        const desired = await eventually(() => nodeKvm(admin, id).open(KV_DESIRED), 30_000);
        await eventually(() => desired.put(`${id}.probe`, JSON.stringify({ from: 'hub' })), 30_000);
        const local = await new Kvm(node(id).local).open(KV_DESIRED);
        expect((await local.get(`${id}.probe`))?.string()).toBe('{"from":"hub"}');
        // The node's events reach the hub's stream (deliveries on $JS.S.>, granted).
        await jetstream(node(id).local).publish(`edge.${id}.probe.evt.work`, `work of ${id}`);
      }
      await eventually(async () => {
        const got: string[] = [];
        const last = (await hubJsm.streams.info(FLEET_EVENT_STREAM)).state.last_seq;
        for (let seq = 1; seq <= last; seq++)
          got.push((await hubJsm.streams.getMessage(FLEET_EVENT_STREAM, { seq }))?.subject ?? '');
        for (const id of NODE_IDS) expect(got).toContain(`edge.${id}.probe.evt.work`);
      }, 60_000);
    },
    SLOW,
  );

  it(
    "runs the fleet service under its own hub user: every node's heartbeat from FLEET_EVENTS, a rollout's desired update written in the node's domain",
    async () => {
      await mkdir(join(dir, 'fleet'));
      fleetService = startApp(
        'fleet-service',
        simulatedNodeEnv(join(dir, 'fleet'), hubUrls, {
          OUTPOST_NODE_ID: 'hub',
          OUTPOST_NATS_CREDS_FILE: files.serviceCreds.fleet,
          OUTPOST_FLEET_REPLICAS: '3',
          OUTPOST_FLEET_TICK_MS: '200',
          OUTPOST_STATUS_INTERVAL_MS: '1000',
        }),
      );
      const fleet = fleetService;
      const fleetRequest = async (verb: string, body: unknown = {}) => {
        const reply = await hubRequest(`edge.hub.fleet.cmd.${verb}`, body, 10_000);
        return { body: json(reply), code: reply.headers?.get('Nats-Service-Error-Code') ?? '' };
      };
      // Each node's "node agent" beats on its own server; the hub sources the events into FLEET_EVENTS.
      const beat = (id: NodeId) =>
        node(id).local.publish(
          NodeApi.evt.heartbeat.subject(id),
          encode(
            HeartbeatSchema,
            create(HeartbeatSchema, { nodeId: id, sequence: 1, health: 1, labels: { site: `site-${id}` } }),
          ),
        );
      await eventually(async () => {
        for (const id of NODE_IDS) beat(id);
        const listed = await fleetRequest('nodes', { selector: 'site' });
        expect(listed.code).toBe('');
        expect(listed.body.nodes.map((n: { nodeId: string }) => n.nodeId).sort()).toEqual([...NODE_IDS]);
      }, 60_000).catch((err: unknown) => {
        throw new Error(`${String(err)}\nfleet service output:\n${fleet.output().slice(-4_000)}`);
      });
      const created = await fleetRequest('rollout-create', {
        id: 'enrolled-a',
        selector: `site=site-${A}`,
        update: {
          manifest: {
            version: '2.0.0',
            imageUrl: 'https://updates.example.net/2.0.0.img',
            size: '1048576',
            sha256: 'a'.repeat(64),
            signature: 'c2lnbmF0dXJl',
          },
        },
      });
      expect(created.code).toBe('');
      const local = await new Kvm(node(A).local).open(KV_DESIRED);
      await eventually(async () => {
        const written = await local.get(kvKeys.desiredUpdate(A));
        expect(written && JSON.parse(written.string()).manifest.version).toBe('2.0.0');
      }, 60_000);
      expect(fleet.output()).not.toMatch(/PERMISSIONS_VIOLATION|Permissions Violation/);
      fleet.kill('SIGTERM');
      await fleet.exited;
    },
    SLOW,
  );

  it(
    "the hub's server refuses each node the other's subjects: publish and subscribe, both directions, and the other's domain",
    async () => {
      for (const [self, other] of [
        [A, B],
        [B, A],
      ] as const) {
        const own = node(self).local;
        // Publish: the node sends another node's command, then its own marker over the same leaf; the hub
        // sees the marker and never the forbidden message (the other node would only get it via the hub).
        const seenOnHub: string[] = [];
        const hubSub = admin.subscribe('edge.>', { callback: (_e, m) => void seenOnHub.push(m.subject) });
        const otherSaw: string[] = [];
        const otherSub = node(other).local.subscribe(`edge.${other}.>`, {
          callback: (_e, m) => void otherSaw.push(m.subject),
        });
        await admin.flush();
        await node(other).local.flush();
        await eventually(async () => {
          own.publish(`edge.${other}.node.cmd.reboot`, '{}');
          own.publish(`edge.${other}.update.evt.state`, '{}');
          own.publish(`edge.${self}.probe.evt.marker`, '{}');
          await own.flush();
          await eventually(() => expect(seenOnHub).toContain(`edge.${self}.probe.evt.marker`), 3_000);
        }, 30_000);
        expect(seenOnHub.filter((s) => s.startsWith(`edge.${other}.`))).toEqual([]);
        expect(otherSaw).toEqual([]);
        hubSub.unsubscribe();
        otherSub.unsubscribe();

        // Subscribe: the node listens on the other's subjects; the hub publishes there, then on the node's
        // own subject: the node gets its own and nothing of the other's. (Commands: a node never imports
        // evt subjects from the hub at all, by the leaf remote's deny_imports.)
        const got: string[] = [];
        own.subscribe(`edge.${other}.>`, { callback: (_e, m) => void got.push(m.subject) });
        own.subscribe(`edge.${self}.probe.cmd.marker`, { callback: (_e, m) => void got.push(m.subject) });
        await own.flush();
        await eventually(async () => {
          admin.publish(`edge.${other}.node.cmd.describe`, '{}');
          admin.publish(`edge.${self}.probe.cmd.marker`, '{}');
          await admin.flush();
          await eventually(() => expect(got).toContain(`edge.${self}.probe.cmd.marker`), 3_000);
        }, 30_000);
        expect(got.filter((s) => s.startsWith(`edge.${other}.`))).toEqual([]);

        // The other node's JetStream domain: no request of this node gets through to it.
        await expect(own.request(`$JS.${other}.API.INFO`, '', { timeout: 1_000 })).rejects.toThrow(
          /no responders|timeout/i,
        );
        // Its own domain answers from its own server (local, not through the hub).
        expect(json(await own.request(`$JS.${self}.API.INFO`, '', { timeout: 2_000 })).type).toBe(
          'io.nats.jetstream.api.v1.account_info_response',
        );
      }
    },
    SLOW,
  );

  it(
    'refuses a replayed, an expired and a tampered token with a typed error, and leaves nothing behind',
    async () => {
      const scratch = join(dir, 'intruder');
      await mkdir(scratch);
      const attempt = (token: string, nodeId: string, tag: string) =>
        enrolNode({
          hub: enrolNc,
          nodeId,
          token,
          hardwareId: node(A).hardwareId,
          keyFile: join(scratch, `${tag}.nk`),
          credsFile: join(scratch, `${tag}.creds`),
        });
      const refusal = async (p: Promise<unknown>) => {
        const err = await p.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ContractError);
        return err as ContractError;
      };
      // What identifies an enrolment (credentialsExpireAt moves with every renewal, which goes on).
      const records = async () =>
        (json(await hubRequest('edge.hub.enrolment.cmd.list')).nodes as Record<string, string>[]).map(
          (n) => `${n.nodeId} ${n.state} ${n.publicKey} ${n.enrolledAt} ${n.tokenId}`,
        );
      const before = await records();

      // Replayed: A's token, used once already, presented again with another key.
      const replayed = await refusal(attempt(tokens.get(A) as string, A, 'replay'));
      expect(replayed.code).toBe(ErrorCode.PERMISSION_DENIED);
      expect(replayed.details).toEqual(['token-used']);
      // ... and through the CLI: exit code 4 (permission denied), the reason on stderr.
      const cli = await outpostctl(
        [
          'enrol',
          '--token',
          tokens.get(B) as string,
          '--node-id',
          B,
          '--key-file',
          join(scratch, 'cli.nk'),
          '--creds-file',
          join(scratch, 'cli.creds'),
        ],
        files.enrolCreds,
      ).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(cli.code).toBe(4);
      expect(cli.stderr).toMatch(/already used/);

      // Expired: a token of one second, presented after it ran out.
      const short = await createToken({ nodeId: 'enrol-c', ttl: '1s' });
      while (Date.now() <= Date.parse(short.expiresAt)) await new Promise((r) => setTimeout(r, 100));
      const expired = await refusal(attempt(short.token, 'enrol-c', 'expired'));
      expect(expired.code).toBe(ErrorCode.PERMISSION_DENIED);
      expect(expired.details).toEqual(['token-expired']);

      // Tampered: a valid token with its node id changed (the signature no longer matches), and a token
      // of the right shape signed by a key that is not the hub's.
      const fresh = await createToken({ nodeId: 'enrol-d' });
      const [head, body, sig] = fresh.token.split('.');
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
      claims.nats.node_id = 'enrol-e';
      const tampered = [head, Buffer.from(JSON.stringify(claims)).toString('base64url'), sig].join('.');
      const bad = await refusal(attempt(tampered, 'enrol-e', 'tampered'));
      expect(bad.code).toBe(ErrorCode.PERMISSION_DENIED);
      expect(bad.details).toEqual(['token-invalid']);
      const forged = await encodeGeneric(
        'enrolment forged',
        createAccount(),
        'outpost-enrolment',
        {
          token_id: claims.nats.token_id,
          node_id: 'enrol-e',
          hardware_id: '',
        },
        { exp: Math.floor(Date.now() / 1000) + 600 },
      );
      expect((await refusal(attempt(forged, 'enrol-e', 'forged'))).details).toEqual(['token-invalid']);
      // Bound to A's serial: another hardware id is refused.
      const bound = await createToken({ nodeId: 'enrol-f', hardwareId: 'serial-f' });
      expect((await refusal(attempt(bound.token, 'enrol-f', 'hw'))).details).toEqual(['hardware-mismatch']);

      // Nothing behind: no node record changed or appeared, no credentials written on the "node", and
      // the refused tokens are still unused (the tampered one's original still works for its node).
      expect(await records()).toEqual(before);
      for (const tag of ['replay', 'cli', 'expired', 'tampered', 'forged', 'hw']) {
        expect(existsSync(join(scratch, `${tag}.creds`))).toBe(false);
      }
      const tokenKv = await new Kvm(admin).open(KV_ENROLMENT_TOKENS);
      for (const t of [short, fresh, bound]) {
        expect((await tokenKv.get(t.tokenId))?.json<{ state: string }>().state).toBe(
          'ENROLMENT_TOKEN_STATE_ISSUED',
        );
      }
    },
    SLOW,
  );

  it(
    'rotates credentials before they expire while a node publishes events: the leaf comes back with the new JWT and no event is lost',
    async () => {
      const first = await readCredsLifetime(node(A).credsFile);
      const published: string[] = [];
      const js = jetstream(node(A).local);
      let failures = 0;
      let probes = 0;
      // Load: an event every 50 ms on A, a request from the hub every 100 ms, until A's credentials of
      // the start have expired and A has been reachable again for a while with newer ones.
      const until = Math.max(first.expiresAtMs, Date.now()) + 6_000;
      const load = (async () => {
        for (let i = 0; Date.now() < until; i++) {
          const subject = `edge.${A}.probe.evt.load`;
          await js.publish(subject, `load ${i}`);
          published.push(`load ${i}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      while (Date.now() < until) {
        probes++;
        if (!(await reachable(A))) failures++;
        await new Promise((r) => setTimeout(r, 100));
      }
      await load;
      const now = await readCredsLifetime(node(A).credsFile);
      expect(now.expiresAtMs).toBeGreaterThan(first.expiresAtMs);
      expect(renewals.get(A) ?? 0).toBeGreaterThanOrEqual(1);
      expect(renewErrors).toEqual([]);
      await eventually(async () => expect(await reachable(A)).toBe(true), 30_000);
      process.stdout.write(
        `rotation: ${renewals.get(A)} renewals of ${A}; ${failures} of ${probes} hub requests (100 ms apart) failed while the leaf reconnected\n`,
      );

      // Every event A stored reached the hub, in A's order.
      await eventually(async () => {
        const last = (await hubJsm.streams.info(FLEET_EVENT_STREAM)).state.last_seq;
        const onHub: string[] = [];
        for (let seq = 1; seq <= last; seq++) {
          const m = await hubJsm.streams.getMessage(FLEET_EVENT_STREAM, { seq });
          if (m?.subject === `edge.${A}.probe.evt.load`) onHub.push(m.string());
        }
        expect(onHub).toEqual(published);
      }, 60_000);
      const local = await (await jetstreamManager(node(A).local)).streams.info(EVENT_STREAM);
      expect(local.state.messages).toBeGreaterThanOrEqual(published.length);
    },
    SLOW,
  );

  it(
    'revokes a node: its leaf is cut off and refused on reconnect, it cannot renew, the other keeps working',
    async () => {
      await eventually(async () => expect(await fleetLeafs()).toBe(2), 30_000);
      const { stdout } = await outpostctl(
        ['enrol', 'revoke', B, '--reason', 'stolen', '--json'],
        files.adminCreds,
      );
      expect(JSON.parse(stdout).revokedKeys).toHaveLength(1);
      // B's leaf is gone (A's may be between two connections while its credentials rotate: at most 1).
      await eventually(async () => expect(await fleetLeafs()).toBeLessThanOrEqual(1), 30_000);
      expect(await reachable(B)).toBe(false);
      // The node's server retries every 2 s with the same credentials: refused each time.
      const end = Date.now() + 7_000;
      while (Date.now() < end) {
        expect(await reachable(B)).toBe(false);
        expect(await fleetLeafs()).toBeLessThanOrEqual(1);
        await new Promise((r) => setTimeout(r, 500));
      }
      await eventually(async () => expect(await reachable(A)).toBe(true), 30_000);
      const renew = await renewNode({
        hub: enrolNc,
        keyFile: node(B).keyFile,
        credsFile: node(B).credsFile,
      }).then(
        () => undefined,
        (e: unknown) => e as ContractError,
      );
      expect(renew?.details).toEqual(['node-revoked']);
      const listed = json(await hubRequest('edge.hub.enrolment.cmd.list')).nodes;
      expect(listed.map((n: { nodeId: string; state: string }) => `${n.nodeId}:${n.state}`)).toEqual([
        `${A}:ENROLMENT_NODE_STATE_ENROLLED`,
        `${B}:ENROLMENT_NODE_STATE_REVOKED`,
      ]);
    },
    SLOW,
  );

  it('ran the enrolment service within its own narrow permissions on the hub', () => {
    expect(service.output()).toContain('node enrol-a enrolled');
    expect(service.output()).not.toMatch(/PERMISSIONS_VIOLATION|Permissions Violation/);
  });
});
