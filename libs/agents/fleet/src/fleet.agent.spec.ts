/**
 * The fleet agent on a real nats-server, started by the runtime exactly as edge-node does and
 * driven by a plain NATS client: its status on the bus, both commands, typed errors for bad input,
 * and its record surviving a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { JsonLogger, startSuite, type RunningSuite } from '@outpost/agent-runtime';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { FleetAgent } from './fleet.agent.js';

const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data));

describe('fleet agent on a real bus', () => {
  let nats: NatsServerHandle;
  let dir: string;
  let suite: RunningSuite | undefined;
  let nc: NatsConnection;
  let nodeId: string;
  let env: NodeJS.ProcessEnv;
  const statuses: { state: string }[] = [];

  const start = () => startSuite([FleetAgent], { env, logger: new JsonLogger({ agent: 'fleet' }, 'error') });
  const request = (verb: string, body = '{}') =>
    nc.request(`edge.${nodeId}.fleet.cmd.${verb}`, body, { timeout: 5000 });

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'outpost-fleet-'));
    env = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_STATUS_INTERVAL_MS: '200',
      OUTPOST_FLEET_MAX_TEXT_LENGTH: '16',
    });
    suite = await start();
    nodeId = suite.nodeId;
    nc = await connectTo(nats);
    nc.subscribe(`edge.${nodeId}.fleet.status`, { callback: (_e, m) => void statuses.push(json(m)) });
    await nc.flush();
  });

  afterAll(async () => {
    await suite?.stop('test done');
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports READY on edge.<node>.fleet.status', async () => {
    await eventually(() => expect(statuses[statuses.length - 1]?.state).toBe('AGENT_STATE_READY'));
  });

  it('answers cmd.status before any echo', async () => {
    expect(json(await request('status'))).toEqual({ echoes: '0', lastText: '' });
  });

  it('echoes the text back with a sequence number and counts it in cmd.status', async () => {
    const first = json(await request('echo', JSON.stringify({ text: 'hello' })));
    expect(first).toMatchObject({ text: 'hello', sequence: '1' });
    expect(Date.parse(first.at)).not.toBeNaN();
    expect(json(await request('echo', JSON.stringify({ text: 'again' })))).toMatchObject({ sequence: '2' });
    expect(json(await request('status'))).toMatchObject({ echoes: '2', lastText: 'again' });
  });

  it.each([
    ['not JSON', '{"text":', '400', 'ERROR_CODE_BAD_REQUEST', /not JSON/],
    ['an unknown field', '{"text":"x","volume":11}', '400', 'ERROR_CODE_BAD_REQUEST', /volume/],
    ['no text', '{}', '422', 'ERROR_CODE_INVALID_ARGUMENT', /text is required/],
    [
      'a text over the configured limit',
      '{"text":"seventeen chars!!"}',
      '422',
      'ERROR_CODE_INVALID_ARGUMENT',
      /at most 16/,
    ],
  ])(
    'answers an echo with %s with a typed error and keeps serving',
    async (_what, body, header, code, message) => {
      const bad = await request('echo', body);
      expect(bad.headers?.get('Nats-Service-Error-Code')).toBe(header);
      expect(json(bad).code).toBe(code);
      expect(json(bad).message).toMatch(message);
      expect(json(await request('status')).echoes).toBe('2');
    },
  );

  it('keeps counting across a restart (the record is persisted)', async () => {
    await suite?.stop('restart');
    suite = undefined;
    suite = await start();
    expect(json(await request('status'))).toMatchObject({ echoes: '2', lastText: 'again' });
    expect(json(await request('echo', JSON.stringify({ text: 'after' })))).toMatchObject({ sequence: '3' });
  });
});
