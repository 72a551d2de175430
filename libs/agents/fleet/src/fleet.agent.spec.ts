/**
 * The fleet service on a real nats-server, started by the runtime as its unit does, before any node
 * has joined (no FLEET_EVENTS yet): its status, typed errors for bad input, a rollout refused when its
 * selector matches nothing, and a label override that survives a restart (hub KV fleet_state).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { JsonLogger, startSuite, type RunningSuite } from '@outpost/agent-runtime';
import { connectTo, simulatedNodeEnv, startNatsServer, type NatsServerHandle } from '@outpost/testing';
import { FleetAgent } from './fleet.agent.js';

const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data));

describe('fleet service on a real bus', () => {
  let nats: NatsServerHandle;
  let dir: string;
  let suite: RunningSuite | undefined;
  let nc: NatsConnection;
  let env: NodeJS.ProcessEnv;

  const start = () => startSuite([FleetAgent], { env, logger: new JsonLogger({ agent: 'fleet' }, 'error') });
  const request = async (verb: string, body: unknown = {}) => {
    const m = await nc.request(`edge.hub.fleet.cmd.${verb}`, JSON.stringify(body), { timeout: 5000 });
    return { body: json(m), code: m.headers?.get('Nats-Service-Error-Code') ?? '' };
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'outpost-fleet-'));
    env = simulatedNodeEnv(dir, nats.url, { OUTPOST_NODE_ID: 'hub', OUTPOST_FLEET_REPLICAS: '1' });
    suite = await start();
    nc = await connectTo(nats);
  });

  afterAll(async () => {
    await suite?.stop('test done');
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers cmd.status with an empty inventory', async () => {
    expect((await request('status')).body).toMatchObject({ nodes: 0, rolloutsRunning: 0 });
  });

  it.each([
    ['nodes', { selector: 'site in (' }, '422'],
    ['nodes', { limit: 5000 }, '422'],
    ['nodes', { color: 'red' }, '400'],
    ['node', { nodeId: 'edge-7' }, '404'],
    ['rollout-status', { id: 'r1' }, '404'],
    ['labels', { nodeId: 'edge-7', set: { 'bad key': 'x' } }, '422'],
  ])('%s %j: error %s', async (verb, body, code) => {
    expect((await request(verb, body)).code).toBe(code);
  });

  it('keeps a label override across a restart; a rollout matching nothing is refused', async () => {
    await request('labels', { nodeId: 'edge-7', set: { site: 'berlin' } });
    await suite?.stop('restart');
    suite = await start();
    const manifest = {
      version: '2.0.0',
      imageUrl: 'https://updates.example.net/2.0.0.img',
      sha256: 'a'.repeat(64),
      signature: 'c2ln',
    };
    const refused = await request('rollout-create', {
      id: 'r1',
      selector: 'site=rome',
      update: { manifest },
    });
    expect(refused.code).toBe('404');
    expect((await request('labels', { nodeId: 'edge-7', set: {} })).body.labelOverrides).toEqual({
      site: 'berlin',
    });
  });
});
