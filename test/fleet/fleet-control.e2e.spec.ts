/**
 * The fleet control plane end to end on real nats-servers: a hub of three clustered members (domain
 * "hub", the production hub.conf) and four leaf servers, each in its own JetStream domain joined over
 * mutual TLS, each carrying a lightweight simulated node that speaks the real contracts (sim-node.ts).
 * The fleet service runs on the hub as its unit runs it (the built apps/fleet-service, a process). Covered: the inventory by label
 * selector, paginated; bad input refused with a typed error and nothing written; a rollout with a
 * canary and batches that advances on success, pauses past the failure threshold, resumes, completes;
 * maxUnavailable 1 per site holding across leaves (hub leases); a node cut off mid-rollout that
 * converges when it is back; the rollout surviving kill -9 of the service and a restart of the whole hub; a lease left by a dead
 * node expiring; a node that cannot reach the hub taking no lease.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { hubLeaseBucket, RolloutLeases } from '@outpost/agent-orchestrator';
import { nodeKvm, provisionFleetEvents } from '@outpost/bus';
import { provisionAsAdmin, readSeedFile, writeNatsConfig } from '@outpost/nats-config';
import { nkeyAuthenticator } from '@nats-io/nats-core';
import {
  EVENT_STREAM,
  HUB_DOMAIN,
  inboxPrefixOf,
  KV_DESIRED,
  KV_FLEET_LEASES,
  KV_FLEET_STATE,
  kvKeys,
} from '@outpost/contracts';
import {
  connectTo,
  eventually,
  freePort,
  makeFleetCerts,
  simulatedNodeEnv,
  startNatsServer,
  type FleetCerts,
  type NatsServerHandle,
} from '@outpost/testing';
import { ROOT, startApp, type AppProcess } from '../e2e/app-process.js';
import { hubConfig } from './fleet-config.js';
import { SimNode, type RebootLog } from './sim-node.js';

const NODES = {
  'b-1': { site: 'berlin', canary: 'true' },
  'b-2': { site: 'berlin' },
  'p-1': { site: 'paris' },
  'p-2': { site: 'paris' },
} as const;
type Id = keyof typeof NODES;
const IDS = Object.keys(NODES) as Id[];
const SLOW = 240_000;
/** A leaf rendered by the production renderer (nkey users per agent), for the lease permissions. */
const PROD = 'o-1';
const execFileP = promisify(execFile);
const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data));

const MANIFEST = (version: string) => ({
  version,
  imageUrl: `https://updates.example.net/${version}.img`,
  size: '1048576',
  sha256: 'a'.repeat(64),
  signature: 'c2lnbmF0dXJl',
});

function leafConfig(id: string, storeDir: string, leafPorts: number[], certs: FleetCerts): string {
  const pair = certs.nodes[id];
  return `server_name: ${id}
jetstream { domain: ${id}, store_dir: "${storeDir}" }
leafnodes {
  remotes: [{
    urls: [${leafPorts.map((p) => `"tls://127.0.0.1:${p}"`).join(', ')}]
    tls { cert_file: "${pair.cert}", key_file: "${pair.key}", ca_file: "${certs.ca}", timeout: 5 }
    deny_imports: ["edge.*.*.evt.>"]
  }]
  reconnect: 1
}
`;
}

describe('the fleet control plane on a hub with leaf nodes', () => {
  let dir: string;
  const hub: NatsServerHandle[] = [];
  const leaves = new Map<Id, NatsServerHandle>();
  const sims = new Map<Id, SimNode>();
  const conns: NatsConnection[] = [];
  let hubNc: NatsConnection;
  let fleet: AppProcess | undefined;
  let env: NodeJS.ProcessEnv;
  const reboots: RebootLog = [];
  let certs: FleetCerts;
  let leafPorts: number[];

  const req = async (verb: string, body: unknown = {}) => {
    const m = await hubNc.request(`edge.hub.fleet.cmd.${verb}`, JSON.stringify(body), { timeout: 10_000 });
    return { body: json(m), code: m.headers?.get('Nats-Service-Error-Code') ?? '' };
  };
  /** The built fleet service as its unit runs it (apps/fleet-service), answering once it is up. */
  const startFleet = async () => {
    fleet = startApp('fleet-service', env);
    await eventually(() => req('status'), 60_000);
  };
  const killFleet = async () => {
    fleet?.kill('SIGKILL');
    await fleet?.exited;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-fleet-ctl-'));
    certs = await makeFleetCerts(dir, [...IDS, PROD]);
    const members = await Promise.all(
      [1, 2, 3].map(async (i) => ({
        serverName: `hub-${i}`,
        clusterPort: await freePort(),
        leafPort: await freePort(),
      })),
    );
    const routes = members.map((m) => m.clusterPort);
    leafPorts = members.map((m) => m.leafPort);
    hub.push(
      ...(await Promise.all(
        members.map((m) =>
          startNatsServer({
            jetstream: false,
            configText: (storeDir) => hubConfig({ ...m, storeDir }, routes, { ...certs.hub, ca: certs.ca }),
          }),
        ),
      )),
    );
    hubNc = await connect({ servers: hub.map((h) => h.url), name: 'fleet-operator' });
    await eventually(() => jetstreamManager(hubNc), 60_000);
    await eventually(() => provisionFleetEvents(hubNc, IDS, { replicas: 1 }), 60_000);

    env = simulatedNodeEnv(join(dir, 'hub-fleet'), hub.map((h) => h.url).join(','), {
      OUTPOST_NODE_ID: HUB_DOMAIN,
      OUTPOST_FLEET_REPLICAS: '1',
      OUTPOST_FLEET_TICK_MS: '200',
      OUTPOST_FLEET_NODE_STALE_MS: '3000',
      OUTPOST_FLEET_WRITE_TIMEOUT_MS: '1000',
    });
    await startFleet();

    for (const id of IDS) {
      const server = await startNatsServer({
        jetstream: false,
        configText: (storeDir) =>
          leafConfig(
            id,
            storeDir,
            members.map((m) => m.leafPort),
            certs,
          ),
      });
      leaves.set(id, server);
      const nc = await connectTo(server, { maxReconnectAttempts: -1, reconnectTimeWait: 200 });
      conns.push(nc);
      const sim = new SimNode(id, nc, { labels: { ...NODES[id] }, rebootMs: 400, heartbeatMs: 300 }, reboots);
      await sim.start();
      sims.set(id, sim);
    }
  }, SLOW);

  afterAll(async () => {
    for (const s of sims.values()) s.stop();
    await killFleet();
    for (const nc of conns) await nc.close().catch(() => undefined);
    await hubNc?.close();
    for (const l of leaves.values()) await l.stop();
    await Promise.all(hub.map((h) => h.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  }, SLOW);

  it(
    'lists every node by label selector, paginated, with the hub overriding labels',
    async () => {
      await eventually(async () => expect((await req('nodes')).body.total).toBe(4), 60_000);
      // The fleet service made no node event stream on the hub: it would pull every node's events over
      // the leaf links a second time (FLEET_EVENTS sources them once).
      await expect((await jetstreamManager(hubNc)).streams.info(EVENT_STREAM)).rejects.toThrow(/not found/);
      const berlin = (await req('nodes', { selector: 'site=berlin,canary!=true' })).body;
      expect(berlin.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(['b-2']);
      expect(berlin.nodes[0]).toMatchObject({
        online: true,
        health: 'HEALTH_STATE_HEALTHY',
        labels: { site: 'berlin' },
      });
      const first = (await req('nodes', { limit: 3 })).body;
      expect(first.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(['b-1', 'b-2', 'p-1']);
      const second = (await req('nodes', { limit: 3, pageToken: first.nextPageToken })).body;
      expect(second).toMatchObject({ nextPageToken: '', total: 4 });
      expect(second.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(['p-2']);

      const relabelled = (await req('labels', { nodeId: 'p-2', set: { rack: 'r9' } })).body;
      expect(relabelled.labels).toEqual({ site: 'paris', rack: 'r9' });
      expect((await req('nodes', { selector: 'rack in (r9)' })).body.total).toBe(1);
      expect((await req('labels', { nodeId: 'p-2', remove: ['rack'] })).body.labels).toEqual({
        site: 'paris',
      });
      expect((await req('nodes', { selector: 'site in (' })).code).toBe('422');
      expect((await req('node', { nodeId: 'nope' })).code).toBe('404');
    },
    SLOW,
  );

  it.each([
    ['a selector matching nothing', { selector: 'site=rome' }, '404'],
    ['a malformed strategy', { strategy: { batches: [{ count: 1, percent: 50 }] } }, '422'],
    ['a version that is not one', { update: { manifest: MANIFEST('not a version') } }, '422'],
    ['an unsigned update', { update: { manifest: { ...MANIFEST('9.0.0'), signature: '' } } }, '422'],
    ['an unknown field', { strategy: { canaries: 1 } }, '400'],
  ])('refuses %s with a typed error and writes nothing', async (_what, override, code) => {
    const body = {
      id: 'bad',
      selector: '',
      update: { manifest: MANIFEST('9.0.0') },
      strategy: {},
      ...override,
    };
    expect((await req('rollout-create', body)).code).toBe(code);
    const kv = await new Kvm(hubNc).open(KV_FLEET_STATE);
    expect(await kv.get('rollout.bad')).toBeNull();
    const desired = await (await nodeKvm(hubNc, 'b-1').open(KV_DESIRED)).get(kvKeys.desiredUpdate('b-1'));
    expect(desired).toBeNull();
  });

  it(
    'rolls out canary first, then batches; pauses past the threshold; resumes; one reboot at a time per site',
    async () => {
      sims.get('p-1')?.failing.add('2.0.0');
      const created = await req('rollout-create', {
        id: 'r2',
        selector: 'site',
        update: { manifest: MANIFEST('2.0.0') },
        strategy: {
          canaryCount: 1,
          batches: [{ count: 1 }, { percent: 50 }],
          successThresholdPercent: 100,
          groupBy: 'site',
          maxUnavailable: 1,
          nodeDeadlineSeconds: 300,
        },
      });
      expect(created.code).toBe('');
      expect(created.body).toMatchObject({ state: 'ROLLOUT_STATE_RUNNING', batchCount: 3, version: '2.0.0' });
      expect(created.body.targets.map((t: { nodeId: string; batch: number }) => [t.nodeId, t.batch])).toEqual(
        [
          ['b-1', 0],
          ['b-2', 1],
          ['p-1', 2],
          ['p-2', 2],
        ],
      );
      // kill -9 of the controller right after the rollout started: it resumes from the hub KV.
      await killFleet();
      await startFleet();
      // The canary commits, batch 1 commits, batch 2 has p-1 rolling back: paused.
      await eventually(async () => {
        const r = (await req('rollout-status', { id: 'r2' })).body;
        expect(r.state).toBe('ROLLOUT_STATE_PAUSED');
        expect(r.reason).toMatch(/batch 2: 1 of 2 nodes failed/);
      }, 60_000);
      const paused = (await req('rollout-status', { id: 'r2' })).body;
      const phase = (id: string) => paused.targets.find((t: { nodeId: string }) => t.nodeId === id).phase;
      expect(phase('b-1')).toBe('TARGET_PHASE_SUCCEEDED');
      expect(phase('b-2')).toBe('TARGET_PHASE_SUCCEEDED');
      expect(phase('p-1')).toBe('TARGET_PHASE_FAILED');
      // The desired update reached each node's own domain, with the hub lease group of its site.
      const desired = await (await nodeKvm(hubNc, 'b-2').open(KV_DESIRED)).get(kvKeys.desiredUpdate('b-2'));
      expect(desired?.json()).toMatchObject({
        manifest: { version: '2.0.0' },
        rolloutGroup: 'site-berlin',
        maxParallel: 1,
      });
      expect((await req('node', { nodeId: 'b-2' })).body).toMatchObject({
        runningVersion: '2.0.0',
        desiredVersion: '2.0.0',
      });

      // The whole hub restarts (the state is in its JetStream): the rollout is still paused there,
      // and the service (reconnected by itself) still drives it.
      await Promise.all(hub.map((h) => h.restart()));
      await eventually(
        async () =>
          expect((await req('rollout-status', { id: 'r2' })).body.state).toBe('ROLLOUT_STATE_PAUSED'),
        60_000,
      );
      expect((await req('rollout-pause', { id: 'r2' })).code).toBe('409');
      // Every node's events flow again (FLEET_EVENTS sources them anew after the restart).
      const restarted = Date.now();
      await eventually(async () => {
        const { nodes } = (await req('nodes')).body as { nodes: { lastSeen: string }[] };
        expect(nodes.every((n) => Date.parse(n.lastSeen) > restarted)).toBe(true);
      }, 120_000);

      // The operator accepts the failure and resumes; the rollout completes once p-2 commits.
      expect((await req('rollout-resume', { id: 'r2' })).body.state).toBe('ROLLOUT_STATE_RUNNING');
      await eventually(
        async () =>
          expect((await req('rollout-status', { id: 'r2' })).body.state).toBe('ROLLOUT_STATE_COMPLETED'),
        60_000,
      );

      // Never two nodes of one site rebooting at once.
      for (const site of ['site-berlin', 'site-paris']) {
        const spans = reboots.filter(([, g]) => g === site).sort((a, b) => a[2] - b[2]);
        for (let i = 1; i < spans.length; i++) expect(spans[i][2]).toBeGreaterThanOrEqual(spans[i - 1][3]);
      }
      const list = (await req('rollout-list')).body.rollouts;
      expect(list.map((r: { id: string }) => r.id)).toEqual(['r2']);
    },
    SLOW,
  );

  it(
    'a node cut off from the hub when its batch comes converges when the link is back',
    async () => {
      // p-2's leaf server is down while the rollout starts: its write fails and is retried.
      await leaves.get('p-2')?.restart(async () => {
        const created = await req('rollout-create', {
          id: 'r3',
          selector: 'site=paris',
          update: { manifest: MANIFEST('3.0.0') },
          strategy: { canaryCount: 0, batches: [], successThresholdPercent: 100, nodeDeadlineSeconds: 120 },
        });
        expect(created.code).toBe('');
        await eventually(async () => {
          const r = (await req('rollout-status', { id: 'r3' })).body;
          const p1 = r.targets.find((t: { nodeId: string }) => t.nodeId === 'p-1');
          const p2 = r.targets.find((t: { nodeId: string }) => t.nodeId === 'p-2');
          expect(p1.phase).toBe('TARGET_PHASE_SUCCEEDED');
          expect(p2).toMatchObject({ phase: 'TARGET_PHASE_ASSIGNED', written: false });
        }, 60_000);
        expect((await req('rollout-status', { id: 'r3' })).body.state).toBe('ROLLOUT_STATE_RUNNING');
      });
      await eventually(
        async () =>
          expect((await req('rollout-status', { id: 'r3' })).body.state).toBe('ROLLOUT_STATE_COMPLETED'),
        90_000,
      );
      expect((await req('rollout-abort', { id: 'r3' })).code).toBe('409');
    },
    SLOW,
  );

  it(
    'a failed canary pauses the rollout; an abort stops it and the next batch is never written',
    async () => {
      sims.get('b-1')?.failing.add('5.0.0');
      const created = await req('rollout-create', {
        id: 'r5',
        selector: 'site=berlin',
        update: { manifest: MANIFEST('5.0.0') },
        strategy: { canaryCount: 1, successThresholdPercent: 100 },
      });
      expect(created.code).toBe('');
      await eventually(
        async () =>
          expect((await req('rollout-status', { id: 'r5' })).body.state).toBe('ROLLOUT_STATE_PAUSED'),
        60_000,
      );
      const aborted = (await req('rollout-abort', { id: 'r5' })).body;
      expect(aborted).toMatchObject({ state: 'ROLLOUT_STATE_ABORTED', reason: 'abort by operator' });
      expect((await req('rollout-resume', { id: 'r5' })).code).toBe('409');
      await new Promise((r) => setTimeout(r, 1_000)); // a few ticks of the controller
      const after = (await req('rollout-status', { id: 'r5' })).body;
      expect(after.targets.find((t: { nodeId: string }) => t.nodeId === 'b-2')).toMatchObject({
        phase: 'TARGET_PHASE_WAITING',
        written: false,
      });
      const desired = await (await nodeKvm(hubNc, 'b-2').open(KV_DESIRED)).get(kvKeys.desiredUpdate('b-2'));
      expect(desired?.json()).toMatchObject({ manifest: { version: '2.0.0' } });
    },
    SLOW,
  );

  it(
    'a lease left by a dead node expires; a node that cannot reach the hub takes none',
    async () => {
      const leaseOf = (id: Id) =>
        new RolloutLeases(hubLeaseBucket(conns[IDS.indexOf(id)], HUB_DOMAIN, 1_000));
      const got = await leaseOf('b-1').acquire('dead-test', 1, 'b-1', '1.0', 1_500, Date.now());
      expect(got.ok).toBe(true);
      // b-1 "dies" holding it: b-2 is refused until the lease's expiry, then takes it.
      const refused = await leaseOf('b-2').acquire('dead-test', 1, 'b-2', '1.0', 1_500, Date.now());
      expect(refused).toMatchObject({ ok: false });
      await eventually(async () => {
        expect((await leaseOf('b-2').acquire('dead-test', 1, 'b-2', '1.0', 1_500, Date.now())).ok).toBe(true);
      }, 10_000);
      const kv = await new Kvm(hubNc).open(KV_FLEET_LEASES);
      expect((await kv.get(kvKeys.rolloutLease('dead-test', 0)))?.json()).toMatchObject({ holder: 'b-2' });
      // While its leaf link is down, a node cannot take a lease at all.
      await leaves.get('b-2')?.restart(async () => {
        await expect(
          leaseOf('b-2').acquire('dead-test-2', 1, 'b-2', '1.0', 1_500, Date.now()),
        ).rejects.toThrow();
      });
    },
    SLOW,
  );

  it(
    "on a node rendered for production, the orchestrator's user may take hub leases and other agents may not",
    async () => {
      const rendered = await writeNatsConfig({
        nodeId: PROD,
        outDir: join(dir, `${PROD}-nats`),
        storeDir: join(dir, `${PROD}-js`),
        mode: 'split',
        domain: PROD,
        leaf: {
          urls: leafPorts.map((p) => `tls://127.0.0.1:${p}`),
          tls: { caFile: certs.ca, certFile: certs.nodes[PROD].cert, keyFile: certs.nodes[PROD].key },
        },
      });
      const server = await startNatsServer({ configFile: rendered.configFile });
      try {
        const seed = (user: string) => join(rendered.credsDir, `${user}.nk`);
        await provisionAsAdmin(server.url, seed('admin'), PROD);
        const as = async (user: string) => {
          const nc = await connectTo(server, {
            authenticator: nkeyAuthenticator(await readSeedFile(seed(user))),
            inboxPrefix: inboxPrefixOf(user),
          });
          conns.push(nc);
          return new RolloutLeases(hubLeaseBucket(nc, HUB_DOMAIN, 2_000));
        };
        const orchestrator = await as('orchestrator');
        const got = await eventually(async () => {
          const r = await orchestrator.acquire('prod-test', 1, PROD, '1.0', 60_000, Date.now());
          expect(r.ok).toBe(true);
          return r;
        }, 30_000);
        if (got.ok) await orchestrator.release('prod-test', got.slot, PROD);
        const kv = await new Kvm(hubNc).open(KV_FLEET_LEASES);
        expect((await kv.get(kvKeys.rolloutLease('prod-test', 0)))?.operation).toBe('DEL');
        const telemetry = await as('telemetry');
        await expect(telemetry.acquire('prod-test', 1, PROD, '1.0', 60_000, Date.now())).rejects.toThrow();
      } finally {
        await server.stop();
      }
    },
    SLOW,
  );

  it(
    'outpostctl against the hub: nodes by selector, one node, the hub leases, rollouts',
    async () => {
      const main = join(ROOT, 'apps/outpostctl/dist/main.js');
      if (!existsSync(main)) throw new Error(`${main} is missing: npm run build first`);
      const ctl = async (...args: string[]) => {
        const { stdout } = await execFileP(
          process.execPath,
          [main, '--server', hub[0].url, '--json', ...args],
          {
            env: { ...process.env, NATS_URL: '' },
          },
        );
        return JSON.parse(stdout);
      };
      const paris = await ctl('nodes', '--selector', 'site=paris');
      expect(paris.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(['p-1', 'p-2']);
      expect((await ctl('node', 'b-1')).node).toMatchObject({ nodeId: 'b-1', runningVersion: '2.0.0' });
      const leases = (await ctl('leases')).leases;
      expect(leases).toEqual(
        expect.arrayContaining([expect.objectContaining({ group: 'dead-test', holder: 'b-2' })]),
      );
      expect((await ctl('rollout', 'status', 'r2')).rollout).toMatchObject({
        state: 'ROLLOUT_STATE_COMPLETED',
      });
      expect((await ctl('rollout', 'list')).rollouts.map((r: { id: string }) => r.id).sort()).toEqual([
        'r2',
        'r3',
        'r5',
      ]);
      await expect(ctl('rollout', 'pause', 'nope')).rejects.toMatchObject({ code: 3 });
      const spec = join(dir, 'r4.json');
      await writeFile(
        spec,
        JSON.stringify({ id: 'r4', selector: 'site=rome', update: { manifest: MANIFEST('4.0.0') } }),
      );
      await expect(ctl('rollout', 'create', '--file', spec)).rejects.toMatchObject({ code: 3 });
    },
    SLOW,
  );
});
