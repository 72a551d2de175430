/**
 * A fleet on this machine: a hub of three clustered nats-servers (JetStream R3, domain "hub") and two
 * nodes, each a leaf server in its own JetStream domain (= its node id) joined to the hub over mutual TLS
 * through a simulated WAN link, each running the whole Outpost suite (apps/edge-node) on a simulated
 * device. An operator client on the hub discovers and commands both nodes' agents, sets one node's
 * desired state in that node's KV, reads both nodes' status, and reads every node's events from the hub
 * stream that sources them. Then one node's WAN link is cut while it keeps producing events; when the
 * link is restored the hub has every event of that node, in the node's order.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { nkeyAuthenticator, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { nodeJetStreamManager, nodeKvm, provisionFleetEvents } from '@outpost/bus';
import { provisionAsAdmin, readSeedFile, writeNatsConfig } from '@outpost/nats-config';
import { AGENT_IDS, EVENT_STREAM, FLEET_EVENT_STREAM, KV_DESIRED, KV_STATUS } from '@outpost/contracts';
import {
  connectTo,
  eventually,
  freePort,
  makeFleetCerts,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { startApp, type AppProcess } from '../e2e/app-process.js';
import { hubConfig } from './fleet-config.js';

const NODE_IDS = ['fleet-a', 'fleet-b'] as const;
type NodeId = (typeof NODE_IDS)[number];
const [A, B] = NODE_IDS;

const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data));

interface Node {
  id: NodeId;
  server: NatsServerHandle;
  app: AppProcess;
  /** A local client on the node's own server (an operator on site). */
  local: NatsConnection;
}

/** One stored event, as compared between a node's stream and the hub's: subject, payload, source seq. */
interface StoredEvent {
  subject: string;
  data: string;
}

describe('a fleet of leaf nodes', () => {
  let dir: string;
  const hub: NatsServerHandle[] = [];
  let hubNc: NatsConnection;
  let hubJsm: JetStreamManager;
  const nodes = new Map<NodeId, Node>();
  const node = (id: NodeId) => nodes.get(id) as Node;

  const request = (id: NodeId, agent: string, verb: string, body = '{}') =>
    hubNc.request(`edge.${id}.${agent}.cmd.${verb}`, body, { timeout: 2_000 });

  /** Every event of a node's own stream, read on the node's server. */
  async function nodeEvents(id: NodeId): Promise<StoredEvent[]> {
    const jsm = await jetstreamManager(node(id).local);
    const last = (await jsm.streams.info(EVENT_STREAM)).state.last_seq;
    const out: StoredEvent[] = [];
    for (let seq = 1; seq <= last; seq++) {
      const m = await jsm.streams.getMessage(EVENT_STREAM, { seq });
      if (m) out.push({ subject: m.subject, data: m.string() });
    }
    return out;
  }

  /** The events the hub stream holds for a node, in hub order, with the node sequence they came from. */
  async function hubEvents(id: NodeId): Promise<(StoredEvent & { sourceSeq: number })[]> {
    const last = (await hubJsm.streams.info(FLEET_EVENT_STREAM)).state.last_seq;
    const out: (StoredEvent & { sourceSeq: number })[] = [];
    for (let seq = 1; seq <= last; seq++) {
      const m = await hubJsm.streams.getMessage(FLEET_EVENT_STREAM, { seq });
      if (!m?.subject.startsWith(`edge.${id}.`)) continue;
      // "EDGE_EVENTS:<api hash> <node seq> ...": where the message came from.
      const source = m.header.get('Nats-Stream-Source');
      out.push({ subject: m.subject, data: m.string(), sourceSeq: Number(source.split(' ')[1]) });
    }
    return out;
  }

  /** The hub has the node's first `count` events (at least), exactly as the node stored them. */
  async function expectHubHasNodeEvents(id: NodeId, atLeast: number): Promise<void> {
    const local = await nodeEvents(id);
    expect(local.length).toBeGreaterThanOrEqual(atLeast);
    await eventually(async () => {
      const sourced = await hubEvents(id);
      expect(sourced.length).toBeGreaterThanOrEqual(local.length);
      const head = sourced.slice(0, local.length);
      expect(head.map((e) => e.sourceSeq)).toEqual(local.map((_, i) => i + 1));
      expect(head.map(({ subject, data }) => ({ subject, data }))).toEqual(local);
    });
  }

  async function ready(id: NodeId): Promise<void> {
    try {
      await eventually(async () => {
        const health = json(await request(id, 'node', 'health'));
        expect(health.state).toBe('HEALTH_STATE_HEALTHY');
      });
    } catch (err) {
      // Which side is missing: the node itself, or its leaf link to the hub.
      const { local, app } = node(id);
      const locally = await local
        .request(`edge.${id}.node.cmd.health`, '{}', { timeout: 5_000 })
        .then((m) => `on its own server: ${String(json(m).state)}`)
        .catch((e: Error) => `on its own server: ${e.message}`);
      throw new Error(
        `${id} is not healthy from the hub: ${(err as Error).message}; ${locally}\n` +
          `edge-node (exit ${String(app.child.exitCode)}):\n${app.output().slice(-4000)}`,
      );
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-fleet-'));
    const certs = await makeFleetCerts(dir, NODE_IDS);

    // The hub: three members routed to each other, each with its own store and leafnode listener.
    const members = await Promise.all(
      [1, 2, 3].map(async (i) => ({
        serverName: `hub-${i}`,
        clusterPort: await freePort(),
        leafPort: await freePort(),
      })),
    );
    const routes = members.map((m) => m.clusterPort);
    const hubTls = { ...certs.hub, ca: certs.ca };
    hub.push(
      ...(await Promise.all(
        members.map((m) =>
          startNatsServer({
            jetstream: false, // the hub config has its own jetstream block, store_dir included
            configText: (storeDir) => hubConfig({ ...m, storeDir }, routes, hubTls),
          }),
        ),
      )),
    );
    hubNc = await connect({ servers: hub.map((h) => h.url), name: 'fleet-operator', timeout: 60_000 });
    // Clustered JetStream answers once the members have elected a meta leader.
    hubJsm = await eventually(() => jetstreamManager(hubNc));
    // The hub stream sources every node from the start; a node not joined yet is simply retried.
    await eventually(() => provisionFleetEvents(hubNc, NODE_IDS, { replicas: 3 }));

    for (const id of NODE_IDS) {
      // The node's server as deploy/install.sh configures it: the production renderer (@outpost/nats-config)
      // with one nkey user per agent plus edge-node and admin, the node's JetStream domain, and the TLS
      // leaf remote to the hub (deny_imports of other nodes' events).
      const rendered = await writeNatsConfig({
        nodeId: id,
        outDir: join(dir, `${id}-nats`),
        storeDir: join(dir, `${id}-js`),
        mode: 'all-in-one',
        domain: id,
        leaf: {
          urls: members.map((m) => `tls://127.0.0.1:${m.leafPort}`),
          tls: { caFile: certs.ca, certFile: certs.nodes[id].cert, keyFile: certs.nodes[id].key },
        },
      });
      const server = await startNatsServer({ configFile: rendered.configFile });
      const nodeDir = join(dir, id);
      await mkdir(nodeDir);
      const seed = (user: string) => join(rendered.credsDir, `${user}.nk`);
      // Install time: JetStream provisioned by the admin; the agents only bind to it.
      await provisionAsAdmin(server.url, seed('admin'), id);
      const local = await connectTo(server, {
        authenticator: nkeyAuthenticator(await readSeedFile(seed('admin'))),
      });
      const app = startApp(
        'edge-node',
        simulatedNodeEnv(nodeDir, server.url, {
          OUTPOST_NODE_ID: id,
          OUTPOST_NATS_NKEY_FILE: seed('edge-node'),
          OUTPOST_STATUS_INTERVAL_MS: '500',
          OUTPOST_NODE_HEARTBEAT_INTERVAL_MS: '500',
        }),
      );
      nodes.set(id, { id, server, app, local });
    }
    await Promise.all(NODE_IDS.map(ready));
  });

  afterAll(async () => {
    for (const n of nodes.values()) {
      n.app.kill('SIGKILL');
      await n.app.exited;
      await n.local.close();
      await n.server.stop();
    }
    await hubNc?.close();
    await Promise.all(hub.map((h) => h.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reaches every agent of every node from the hub: micro discovery, commands, status in each domain', async () => {
    // nats micro ls, from the hub
    const byNode = new Map<string, string[]>();
    await eventually(async () => {
      byNode.clear();
      for await (const m of await hubNc.requestMany('$SRV.PING', '', { maxWait: 1_000 })) {
        const ping = json(m);
        const id = ping.metadata?.node_id as string;
        byNode.set(id, [...(byNode.get(id) ?? []), ping.name as string].sort());
      }
      for (const id of NODE_IDS) expect(byNode.get(id)).toHaveLength(AGENT_IDS.length);
    });
    expect(byNode.get(A)).toEqual(byNode.get(B));
    expect(byNode.get(A)).toContain('outpost-telemetry');

    // nats req edge.<node>.node.cmd.describe '{}', from the hub
    for (const id of NODE_IDS) {
      expect(json(await request(id, 'node', 'describe')).identity.nodeId).toBe(id);
    }

    // Each node's status lives in its own domain; the hub reads it through $JS.<node>.API.
    for (const id of NODE_IDS) {
      const status = await nodeKvm(hubNc, id).open(KV_STATUS);
      expect((await status.get(`${id}.node.health`))?.json<{ state: string }>().state).toBe(
        'HEALTH_STATE_HEALTHY',
      );
      const other = id === A ? B : A;
      expect(await status.get(`${other}.node.health`)).toBeNull();
    }
    // The agents provisioned their stream and buckets on their leaf server, not on the hub.
    const jsmA = await nodeJetStreamManager(hubNc, A);
    expect((await jsmA.getAccountInfo()).domain).toBe(A);
    expect((await jsmA.streams.info(EVENT_STREAM)).config.subjects).toEqual(['edge.*.*.evt.>']);
    await expect(hubJsm.streams.info(EVENT_STREAM)).rejects.toThrow(/not found/i);
    await expect(hubJsm.streams.info(`KV_${KV_STATUS}`)).rejects.toThrow(/not found/i);
  });

  it('sets one node desired state from the hub: only that node applies it, and its event reaches the hub', async () => {
    const profile = {
      entries: [
        {
          input: 'cpu',
          type: 'TELEMETRY_SIGNAL_METRICS',
          kind: 'TELEMETRY_KIND_HOST',
          level: 'TELEMETRY_LEVEL_DEBUG',
          intervalSeconds: 7,
        },
      ],
    };
    const desired = await nodeKvm(hubNc, A).open(KV_DESIRED);
    await desired.put(`${A}.telemetry`, JSON.stringify(profile));

    const effective = async (id: NodeId) =>
      (await (await nodeKvm(hubNc, id).open(KV_STATUS)).get(`${id}.telemetry.effective`))?.json<{
        profile?: { entries?: { input: string; intervalSeconds: number }[] };
      }>();
    await eventually(async () => {
      const entries = (await effective(A))?.profile?.entries ?? [];
      expect(entries.map((e) => `${e.input}:${e.intervalSeconds}`)).toEqual(['cpu:7']);
    });
    const entriesB = (await effective(B))?.profile?.entries ?? [];
    expect(entriesB.map((e) => `${e.input}:${e.intervalSeconds}`)).not.toContain('cpu:7');
    expect(await (await nodeKvm(hubNc, B).open(KV_DESIRED)).get(`${A}.telemetry`)).toBeNull();

    await eventually(async () => {
      const configs = (await hubEvents(A)).filter((e) => e.subject === `edge.${A}.telemetry.evt.config`);
      expect(configs.map((e) => JSON.parse(e.data).profile?.entries?.[0]?.intervalSeconds)).toContain(7);
    });
  });

  it("brings every node's own events to the hub in the node's order, and no node stores another's", async () => {
    for (const id of NODE_IDS) {
      const other = id === A ? B : A;
      const jsm = await jetstreamManager(node(id).local);
      const info = await jsm.streams.info(EVENT_STREAM, { subjects_filter: `edge.${other}.>` });
      expect(info.state.subjects ?? {}).toEqual({});
      await expectHubHasNodeEvents(id, 3);
    }
  });

  it('loses nothing through a WAN outage: each node keeps working alone and catches the hub up on return', async () => {
    // The outage: every hub member goes down (from a node, the same as its uplink failing), stays down
    // while the nodes carry on, and comes back with its store.
    let endOutage!: () => void;
    const outage = new Promise<void>((resolve) => (endOutage = resolve));
    let down = 0;
    const restarted = Promise.all(
      hub.map((h) =>
        h.restart(() => {
          down += 1;
          return outage;
        }),
      ),
    );
    await eventually(() => expect(down).toBe(hub.length));

    const atCut = new Map<NodeId, number>();
    for (const id of NODE_IDS) {
      const jsm = await jetstreamManager(node(id).local);
      atCut.set(id, (await jsm.streams.info(EVENT_STREAM)).state.last_seq);
    }
    // On site, each node carries on: its agents answer locally, its desired state can be set locally,
    // and its events pile up in its own stream.
    for (const id of NODE_IDS) {
      const a = node(id);
      const health = json(await a.local.request(`edge.${id}.node.cmd.health`, '{}', { timeout: 5_000 }));
      expect(health.state).toBe('HEALTH_STATE_HEALTHY');
      const jsm = await jetstreamManager(a.local);
      await eventually(async () => {
        const last = (await jsm.streams.info(EVENT_STREAM)).state.last_seq;
        expect(last).toBeGreaterThanOrEqual((atCut.get(id) ?? 0) + 5);
      });
    }

    endOutage();
    await restarted;
    await eventually(() => jetstreamManager(hubNc));
    for (const id of NODE_IDS) {
      await eventually(async () => {
        expect(json(await request(id, 'node', 'health')).nodeId).toBe(id);
      });
    }
    // Nothing lost, nothing doubled, nothing reordered: the hub's copy of each node's events begins
    // with exactly the node's stream, including everything stored during the outage.
    for (const id of NODE_IDS) await expectHubHasNodeEvents(id, (atCut.get(id) ?? 0) + 5);
  });
});
