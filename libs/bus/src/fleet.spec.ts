// The hub side of a fleet against a real hub server and a real leaf server in its own JetStream domain:
// the hub stream sources only the node's own events through its domain API, provisioning is idempotent,
// and the hub reaches the node's KV through the leaf link.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { EVENT_STREAM, FLEET_EVENT_STREAM, KV_DESIRED } from '@outpost/contracts';
import { connectTo, eventually, freePort, startNatsServer, type NatsServerHandle } from '@outpost/testing';
import { nodeEventSource, nodeKvm, provisionFleetEvents } from './fleet.js';
import { provisionJetStream } from './jetstream.js';

describe('fleet (hub side)', () => {
  let hub: NatsServerHandle;
  let leaf: NatsServerHandle;
  let hubNc: NatsConnection;
  let leafNc: NatsConnection;

  beforeAll(async () => {
    const leafPort = await freePort();
    hub = await startNatsServer({
      configText: `jetstream { domain: hub }\nleafnodes { listen: "127.0.0.1:${leafPort}" }\n`,
    });
    leaf = await startNatsServer({
      configText:
        `jetstream { domain: n1 }\n` +
        `leafnodes { remotes: [ { url: "nats://127.0.0.1:${leafPort}", deny_imports: ["edge.*.*.evt.>"] } ] }\n`,
    });
    hubNc = await connectTo(hub);
    leafNc = await connectTo(leaf);
    await provisionJetStream(leafNc, { nodeId: 'n1' }); // what the node's agents do at start, on their local server
  });

  afterAll(async () => {
    await hubNc?.close();
    await leafNc?.close();
    await leaf?.stop();
    await hub?.stop();
  });

  it('sources only the node its own events into the hub stream, once', async () => {
    await eventually(() => provisionFleetEvents(hubNc, ['n1'], { replicas: 1 }));
    await provisionFleetEvents(hubNc, ['n1'], { replicas: 1 }); // idempotent
    leafNc.publish('edge.n1.node.evt.heartbeat', '1');
    leafNc.publish('edge.other.node.evt.heartbeat', 'not n1'); // captured by n1's stream, not sourced
    leafNc.publish('edge.n1.node.evt.heartbeat', '2');
    await leafNc.flush();

    const hubJsm = await jetstreamManager(hubNc);
    await eventually(async () => {
      expect((await hubJsm.streams.info(FLEET_EVENT_STREAM)).state.messages).toBe(2);
    });
    const info = await hubJsm.streams.info(FLEET_EVENT_STREAM);
    expect(info.config.subjects ?? []).toEqual([]);
    expect(info.config.sources?.map((s) => s.external?.api)).toEqual(['$JS.n1.API']);
    expect(info.sources?.map((s) => s.lag)).toEqual([0]);
    const first = await hubJsm.streams.getMessage(FLEET_EVENT_STREAM, { seq: 1 });
    expect(first?.subject).toBe('edge.n1.node.evt.heartbeat');
    expect(first?.string()).toBe('1');
    // The node's own stream stays on the leaf: the hub domain has no EDGE_EVENTS.
    await expect(hubJsm.streams.info(EVENT_STREAM)).rejects.toThrow(/not found/i);
  });

  it('adds the sources of new nodes and keeps the ones it has', async () => {
    const info = await provisionFleetEvents(hubNc, ['n1', 'n2'], { replicas: 1 });
    expect(info.config.sources?.map((s) => s.external?.api)).toEqual(['$JS.n1.API', '$JS.n2.API']);
  });

  it('writes a node KV from the hub through the node domain', async () => {
    const desired = await nodeKvm(hubNc, 'n1').open(KV_DESIRED);
    await desired.put('n1.telemetry', '{"entries":[]}');
    const local = await (await provisionJetStream(leafNc, { nodeId: 'n1' })).desired.get('n1.telemetry');
    expect(local?.string()).toBe('{"entries":[]}');
  });

  it('refuses the hub domain and ids that are no subject token as node ids', () => {
    expect(() => nodeEventSource('hub')).toThrow(/hub's JetStream domain/);
    expect(() => nodeEventSource('a.b')).toThrow(/not a valid subject token/);
  });
});
