/**
 * The node agent on a real nats-server, started by the runtime exactly as edge-node does, driven by
 * plain NATS clients: describe, health going unhealthy when a required agent goes silent, heartbeat,
 * KV state, and strict decoding of what it reads and answers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import {
  AgentState,
  AgentStatusSchema,
  encode,
  EVENT_STREAM,
  KV_STATUS,
  type AgentStatus,
} from '@outpost/contracts';
import { JsonLogger, startSuite, type RunningSuite } from '@outpost/agent-runtime';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { NodeAgent } from './node.agent.js';

const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data));

describe('node agent on a real bus', () => {
  let nats: NatsServerHandle;
  let dir: string;
  let suite: RunningSuite;
  let nc: NatsConnection;
  let nodeId: string;
  let hardwareBeat: NodeJS.Timeout | undefined;
  let suiteEnv: NodeJS.ProcessEnv;
  const statuses: Record<string, unknown>[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'outpost-node-'));
    suiteEnv = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_STATUS_INTERVAL_MS: '200',
      OUTPOST_NODE_HEARTBEAT_INTERVAL_MS: '500',
      OUTPOST_NODE_STALE_AFTER_MS: '1000',
      OUTPOST_NODE_REQUIRED_AGENTS: 'node,hardware',
      OUTPOST_NODE_LABELS: 'site=berlin,tier=canary',
    });
    suite = await startSuite([NodeAgent], {
      env: suiteEnv,
      logger: new JsonLogger({ agent: 'node' }, 'error'),
    });
    nodeId = suite.nodeId;
    nc = await connectTo(nats);
    nc.subscribe(`edge.${nodeId}.node.status`, { callback: (_e, m) => void statuses.push(json(m)) });
  });

  afterAll(async () => {
    clearInterval(hardwareBeat);
    await suite?.stop('test done');
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function hardwareStatus(state: AgentState, sequence: number): AgentStatus {
    return create(AgentStatusSchema, {
      nodeId,
      agent: 'hardware',
      state,
      instanceId: 'hw-1',
      sequence,
      updatedAt: timestampFromDate(new Date()),
      statusIntervalMs: 200,
    });
  }

  it('derives a 16-hex node id from the simulated machine-id', () => {
    expect(nodeId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('answers describe to a plain NATS request', async () => {
    const reply = json(await nc.request(`edge.${nodeId}.node.cmd.describe`, '{}', { timeout: 5000 }));
    expect(reply.identity).toMatchObject({ nodeId, source: 'IDENTITY_SOURCE_MACHINE_ID' });
    expect(reply.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(reply.uptime).toMatch(/s$/);
    expect(reply.agents.map((a: { agent: string }) => a.agent)).toContain('node');
  });

  it('answers a malformed describe with a typed error and keeps serving', async () => {
    const bad = await nc.request(`edge.${nodeId}.node.cmd.describe`, '{"identity":', { timeout: 5000 });
    expect(bad.headers?.get('Nats-Service-Error-Code')).toBe('400');
    expect(json(bad).code).toBe('ERROR_CODE_BAD_REQUEST');
    const good = await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 5000 });
    expect(json(good).nodeId).toBe(nodeId);
  });

  it('is unhealthy while a required agent has never reported', async () => {
    const health = json(await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 5000 }));
    expect(health.state).toBe('HEALTH_STATE_UNHEALTHY');
    expect(health.reasons).toContain('hardware: never reported');
  });

  it('becomes healthy when every required agent is READY, and says so on status, event and KV', async () => {
    const events: Record<string, unknown>[] = [];
    const sub = nc.subscribe(`edge.${nodeId}.node.evt.health`, {
      callback: (_e, m) => void events.push(json(m)),
    });
    let seq = 0;
    hardwareBeat = setInterval(
      () =>
        nc.publish(
          `edge.${nodeId}.hardware.status`,
          encode(AgentStatusSchema, hardwareStatus(AgentState.READY, ++seq)),
        ),
      100,
    );
    await eventually(async () => {
      const health = json(await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 5000 }));
      expect(health.state).toBe('HEALTH_STATE_HEALTHY');
    });
    await eventually(() => expect(events.some((e) => e.state === 'HEALTH_STATE_HEALTHY')).toBe(true));
    await eventually(() =>
      expect(
        statuses.some((s) => (s.nodeHealth as { state?: string })?.state === 'HEALTH_STATE_HEALTHY'),
      ).toBe(true),
    );
    const kv = await new Kvm(nc).open(KV_STATUS);
    await eventually(async () => {
      const entry = await kv.get(`${nodeId}.node.health`);
      expect(entry?.json<{ state: string }>().state).toBe('HEALTH_STATE_HEALTHY');
    });
    sub.unsubscribe();
  });

  it('turns unhealthy when a required agent stops reporting, naming it', async () => {
    clearInterval(hardwareBeat);
    hardwareBeat = undefined;
    await eventually(async () => {
      const health = json(await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 5000 }));
      expect(health.state).toBe('HEALTH_STATE_UNHEALTHY');
      expect(health.reasons.join()).toMatch(/hardware: no status for/);
      expect(health.agents.find((a: { agent: string }) => a.agent === 'hardware').stale).toBe(true);
    });
  });

  it('turns unhealthy at once when a required agent reports DEGRADED', async () => {
    nc.publish(
      `edge.${nodeId}.hardware.status`,
      encode(AgentStatusSchema, hardwareStatus(AgentState.DEGRADED, 10_000)),
    );
    await eventually(async () => {
      const health = json(await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 5000 }));
      expect(health.reasons.join()).toMatch(/hardware: DEGRADED/);
    });
  });

  it('rejects malformed and spoofed statuses and keeps its verdict', async () => {
    nc.publish(`edge.${nodeId}.hardware.status`, '{"state":"AGENT_STATE_NAPPING"}');
    nc.publish(`edge.${nodeId}.hardware.status`, 'not json');
    // A body that claims to be another agent than its subject names must not make that agent up.
    nc.publish(
      `edge.${nodeId}.hardware.status`,
      encode(AgentStatusSchema, { ...hardwareStatus(AgentState.READY, 20_000), agent: 'update' }),
    );
    await nc.flush();
    const health = json(await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 5000 }));
    expect(health.reasons.join()).toMatch(/hardware: DEGRADED/);
    expect(health.agents.map((a: { agent: string }) => a.agent)).not.toContain('update');
  });

  it('answers health judged now, not at the last change', async () => {
    const first = json(await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 5000 }));
    await new Promise((r) => setTimeout(r, 20));
    const second = json(await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 5000 }));
    expect(Date.parse(second.evaluatedAt)).toBeGreaterThan(Date.parse(first.evaluatedAt));
    expect(second.since).toBe(first.since);
  });

  it('after a restart, shows what agents said before but does not trust it', async () => {
    await suite.stop('restart');
    suite = await startSuite([NodeAgent], {
      env: suiteEnv,
      logger: new JsonLogger({ agent: 'node' }, 'error'),
    });
    // edge_status still says hardware was DEGRADED; even a READY there would not count: it is not live.
    const kv = await new Kvm(nc).open(KV_STATUS);
    await kv.put(`${nodeId}.hardware`, encode(AgentStatusSchema, hardwareStatus(AgentState.READY, 1)));
    await suite.stop('restart again');
    suite = await startSuite([NodeAgent], {
      env: suiteEnv,
      logger: new JsonLogger({ agent: 'node' }, 'error'),
    });
    const health = json(await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 5000 }));
    expect(health.state).toBe('HEALTH_STATE_UNHEALTHY');
    expect(health.reasons.join()).toMatch(
      /hardware: not heard from since the node agent started \(last said READY\)/,
    );
  });

  it('publishes heartbeats that the event stream keeps, and keeps commands out of the stream', async () => {
    const beats: Record<string, unknown>[] = [];
    const sub = nc.subscribe(`edge.${nodeId}.node.evt.heartbeat`, {
      callback: (_e, m) => void beats.push(json(m)),
    });
    await eventually(() => expect(beats.length).toBeGreaterThanOrEqual(2));
    sub.unsubscribe();
    expect(Number(beats[1].sequence)).toBeGreaterThan(Number(beats[0].sequence));
    expect(beats[0]).toMatchObject({ nodeId, labels: { site: 'berlin', tier: 'canary' } });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(EVENT_STREAM);
    expect(info.state.messages).toBeGreaterThan(0);
    expect(info.config.subjects).toEqual(['edge.*.*.evt.>']);
    const subjects = await jsm.streams.getMessage(EVENT_STREAM, {
      last_by_subj: `edge.${nodeId}.node.evt.heartbeat`,
    });
    expect(subjects?.subject).toBe(`edge.${nodeId}.node.evt.heartbeat`);
    // A command subject nobody serves gets "no responders", not a JetStream PubAck.
    await expect(nc.request(`edge.${nodeId}.node.cmd.nothing`, '{}', { timeout: 2000 })).rejects.toThrow();
  });

  it('keeps its own status and the node identity in KV edge_status', async () => {
    const kv = await new Kvm(nc).open(KV_STATUS);
    expect((await kv.get(`${nodeId}.node.identity`))?.json<{ nodeId: string }>().nodeId).toBe(nodeId);
    const entry = await kv.get(`${nodeId}.node`);
    expect(entry?.json<{ state: string; agent: string }>()).toMatchObject({
      agent: 'node',
      state: 'AGENT_STATE_READY',
    });
  });
});
