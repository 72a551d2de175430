/**
 * The telemetry agent on a real nats-server, started by the runtime exactly as edge-node does, driven
 * by plain NATS clients and KV puts: fleet + node profiles merged into one effective configuration
 * (event + KV copy), a bad profile rejected while the last one stays, a failed apply rolled back
 * under a new generation, typed errors for bad reports, and the state surviving a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm, type KV } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { KV_DESIRED, KV_STATUS } from '@outpost/contracts';
import { JsonLogger, startSuite, type RunningSuite } from '@outpost/agent-runtime';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { TelemetryAgent } from './telemetry.agent.js';

interface Entry {
  input: string;
  level: string;
  intervalSeconds: number;
}
interface Config {
  generation: string;
  rolledBack: boolean;
  rolledBackFrom: string;
  reason: string;
  profile: { entries: Entry[]; exporters: Record<string, { endpoint?: string; port?: number }> };
}

const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data));
const entry = (input: string, level: string, intervalSeconds: number) => ({
  input,
  type: input === 'journal' ? 'TELEMETRY_SIGNAL_LOGS' : 'TELEMETRY_SIGNAL_METRICS',
  kind: 'TELEMETRY_KIND_HOST',
  level: `TELEMETRY_LEVEL_${level}`,
  intervalSeconds,
});
const brief = (c: Config) =>
  c.profile.entries.map((e) => `${e.input}:${e.level.replace('TELEMETRY_LEVEL_', '')}:${e.intervalSeconds}`);

describe('telemetry agent on a real bus', () => {
  let nats: NatsServerHandle;
  let dir: string;
  let suite: RunningSuite | undefined;
  let nc: NatsConnection;
  let nodeId: string;
  let env: NodeJS.ProcessEnv;
  let desired: KV;
  let status: KV;
  const events: Config[] = [];
  const statuses: { state: string; reasons: string[] }[] = [];

  const start = () =>
    startSuite([TelemetryAgent], { env, logger: new JsonLogger({ agent: 'telemetry' }, 'error') });
  const request = (verb: string, body = '{}') =>
    nc.request(`edge.${nodeId}.telemetry.cmd.${verb}`, body, { timeout: 5000 });
  const lastEvent = () => events[events.length - 1];

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'outpost-telemetry-'));
    env = simulatedNodeEnv(dir, nats.url, { OUTPOST_STATUS_INTERVAL_MS: '200' });
    suite = await start();
    nodeId = suite.nodeId;
    nc = await connectTo(nats);
    nc.subscribe(`edge.${nodeId}.telemetry.evt.config`, { callback: (_e, m) => void events.push(json(m)) });
    nc.subscribe(`edge.${nodeId}.telemetry.status`, { callback: (_e, m) => void statuses.push(json(m)) });
    await nc.flush();
    desired = await new Kvm(nc).open(KV_DESIRED);
    status = await new Kvm(nc).open(KV_STATUS);
  });

  afterAll(async () => {
    await suite?.stop('test done');
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('merges the fleet defaults into the node profile: one evt.config and its KV copy', async () => {
    await desired.put(
      'fleet.telemetry',
      JSON.stringify({
        entries: [entry('cpu', 'INFO', 60), entry('journal', 'DEBUG', 30)],
        exporters: { otlpHttp: { endpoint: 'http://fleet:4318' }, prometheus: { port: 9100 } },
      }),
    );
    await desired.put(
      `${nodeId}.telemetry`,
      JSON.stringify({
        entries: [entry('cpu', 'WARN', 10), entry('memory', 'INFO', 30), entry('journal', 'INFO', 120)],
        exporters: { otlpHttp: { endpoint: 'http://node:4318' } },
      }),
    );
    const merged = await eventually(() => {
      const last = lastEvent();
      expect(last && brief(last)).toEqual(['cpu:INFO:10', 'journal:DEBUG:30', 'memory:INFO:30']);
      return last;
    });
    expect(merged.profile.exporters).toMatchObject({
      otlpHttp: { endpoint: 'http://node:4318' },
      prometheus: { port: 9100 },
    });
    const copy = (await status.get(`${nodeId}.telemetry.effective`))?.json<Config>();
    expect(copy?.generation).toBe(merged.generation);
    expect(copy && brief(copy)).toEqual(brief(merged));
    expect(json(await request('status')).effective.generation).toBe(merged.generation);
  });

  it('rejects a bad node profile with its reason, goes DEGRADED and keeps the last good one', async () => {
    const before = lastEvent();
    const count = events.length;
    await desired.put(`${nodeId}.telemetry`, JSON.stringify({ entries: [entry('cpu', 'INFO', 0)] }));
    const reply = await eventually(async () => {
      const r = json(await request('status'));
      expect(r.lastRejection?.reason).toMatch(/entries\[0\]\.intervalSeconds 0 is outside 1\.\.3600/);
      return r;
    });
    expect(reply.lastRejection.key).toBe(`${nodeId}.telemetry`);
    expect(reply.effective.generation).toBe(before.generation);
    expect(reply.reasons.join()).toMatch(/rejected: entries\[0\]\.intervalSeconds 0/);
    await eventually(() => {
      const s = statuses[statuses.length - 1];
      expect(s.state).toBe('AGENT_STATE_DEGRADED');
      expect(s.reasons.join()).toMatch(/intervalSeconds 0 is outside/);
    });
    await nc.flush();
    expect(events.length).toBe(count);
  });

  it('rolls back to the last good configuration when the data plane reports a failed apply', async () => {
    const good = lastEvent();
    const ack = json(
      await request('report-apply', JSON.stringify({ generation: good.generation, ok: true })),
    );
    expect(ack.rolledBack).toBe(false);
    // A valid new node profile: a new generation, which the data plane then fails to apply.
    await desired.put(`${nodeId}.telemetry`, JSON.stringify({ entries: [entry('net', 'TRACE', 5)] }));
    const next = await eventually(() => {
      expect(Number(lastEvent().generation)).toBeGreaterThan(Number(good.generation));
      return lastEvent();
    });
    expect(brief(next)).toContain('net:TRACE:5');
    const reply = json(
      await request(
        'report-apply',
        JSON.stringify({ generation: next.generation, ok: false, reason: 'port in use' }),
      ),
    );
    expect(reply.rolledBack).toBe(true);
    expect(Number(reply.effective.generation)).toBe(Number(next.generation) + 1);
    const rolled = await eventually(() => {
      expect(lastEvent().generation).toBe(reply.effective.generation);
      return lastEvent();
    });
    expect(rolled).toMatchObject({ rolledBack: true, rolledBackFrom: next.generation });
    expect(rolled.reason).toMatch(/failed to apply \(port in use\); rolled back/);
    expect(brief(rolled)).toEqual(brief(good));
    const st = json(await request('status'));
    expect(st.lastGoodGeneration).toBe(good.generation);
    expect(st.lastApplyReport).toMatchObject({
      generation: next.generation,
      ok: false,
      reason: 'port in use',
    });
    expect(st.reasons.join()).toMatch(/rolled back to the last good generation/);
    expect((await status.get(`${nodeId}.telemetry.effective`))?.json<Config>().generation).toBe(
      rolled.generation,
    );
  });

  it.each([
    ['not JSON', '{"generation":', '400', 'ERROR_CODE_BAD_REQUEST', /not JSON/],
    ['an unknown field', '{"generation":1,"x":1}', '400', 'ERROR_CODE_BAD_REQUEST', /x/],
    ['no generation', '{"ok":true}', '422', 'ERROR_CODE_INVALID_ARGUMENT', /generation is required/],
    [
      'a future generation',
      '{"generation":999,"ok":true}',
      '422',
      'ERROR_CODE_INVALID_ARGUMENT',
      /never published/,
    ],
    [
      'a failure without reason',
      '{"generation":1,"ok":false}',
      '422',
      'ERROR_CODE_INVALID_ARGUMENT',
      /reason is required/,
    ],
  ])(
    'answers a report with %s with a typed error and keeps serving',
    async (_what, body, header, code, message) => {
      const bad = await request('report-apply', body);
      expect(bad.headers?.get('Nats-Service-Error-Code')).toBe(header);
      expect(json(bad).code).toBe(code);
      expect(json(bad).message).toMatch(message);
      expect(json(await request('status')).effective).toBeDefined();
    },
  );

  it('keeps the configuration in force and the last good one across a restart', async () => {
    const before = json(await request('status'));
    const count = events.length;
    await suite?.stop('restart');
    suite = undefined;
    suite = await start();
    const after = json(await request('status'));
    expect(after.effective).toEqual(before.effective);
    expect(after.lastGoodGeneration).toBe(before.lastGoodGeneration);
    // The replayed KV values were already taken into account: no new generation.
    await nc.flush();
    expect(events.length).toBe(count);
    // The persisted generation counter goes on from where it was.
    await desired.put(`${nodeId}.telemetry`, JSON.stringify({ entries: [entry('load', 'INFO', 15)] }));
    await eventually(() =>
      expect(Number(lastEvent().generation)).toBe(Number(before.effective.generation) + 1),
    );
  });
});
