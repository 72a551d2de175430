/**
 * The observability agent with the telemetry agent in one process (as in edge-node), on a real
 * nats-server, driven by profile puts in KV like an operator: host metrics scraped by Prometheus
 * (validated by promtool) and pushed over OTLP/HTTP to a receiver in the test, a profile change
 * applied live, a profile that cannot be applied rolled back by the telemetry agent.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm, type KV } from '@nats-io/kv';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { KV_DESIRED } from '@outpost/contracts';
import { JsonLogger, startSuite, type RunningSuite } from '@outpost/agent-runtime';
import { ObservabilityAgent } from '@outpost/agent-observability';
import { TelemetryAgent } from '@outpost/agent-telemetry';
import {
  connectTo,
  eventually,
  FluentReceiver,
  freePort,
  OtlpReceiver,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';

const METRIC_INPUTS = ['cpu', 'memory', 'disk', 'diskio', 'net', 'load', 'temperature', 'agents'];
const entry = (input: string, intervalSeconds = 1, level = 'INFO') => ({
  input,
  type: METRIC_INPUTS.includes(input) ? 'TELEMETRY_SIGNAL_METRICS' : 'TELEMETRY_SIGNAL_LOGS',
  kind: 'TELEMETRY_KIND_HOST',
  level: `TELEMETRY_LEVEL_${level}`,
  intervalSeconds,
});

interface OtlpAttr {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number };
}
interface OtlpMetric {
  name: string;
  unit: string;
  gauge?: {
    dataPoints: {
      asDouble?: number;
      asInt?: string | number;
      attributes: OtlpAttr[];
      timeUnixNano: string;
    }[];
  };
  sum?: {
    dataPoints: {
      asDouble?: number;
      asInt?: string | number;
      attributes: OtlpAttr[];
      timeUnixNano: string;
    }[];
    isMonotonic: boolean;
  };
}
interface MetricsRequest {
  resourceMetrics: { resource: { attributes: OtlpAttr[] }; scopeMetrics: { metrics: OtlpMetric[] }[] }[];
}

export const attrs = (list: OtlpAttr[]) =>
  Object.fromEntries(
    list.map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.doubleValue]),
  );
const metricsOf = (req: MetricsRequest) =>
  req.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
const value = (p: { asDouble?: number; asInt?: string | number }) => Number(p.asDouble ?? p.asInt);

function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('/usr/bin/promtool', ['check', 'metrics'], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
    child.stdin?.end(text);
  });
}

describe('observability agent on a real bus', () => {
  let nats: NatsServerHandle;
  let dir: string;
  let suite: RunningSuite;
  let nc: NatsConnection;
  let nodeId: string;
  let desired: KV;
  const otlp = new OtlpReceiver();
  const fluent = new FluentReceiver();
  let promPort: number;

  const request = async (agent: string, verb: string, body = '{}') =>
    JSON.parse(
      new TextDecoder().decode(
        (await nc.request(`edge.${nodeId}.${agent}.cmd.${verb}`, body, { timeout: 5000 })).data,
      ),
    );
  const status = () => request('observability', 'status');
  const putProfile = (profile: unknown) => desired.put(`${nodeId}.telemetry`, JSON.stringify(profile));
  const scrape = async (port: number) => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  /** Waits until the observability agent applied a generation newer than `after` and returns it. */
  const applied = (after: number) =>
    eventually(async () => {
      const s = await status();
      expect(Number(s.generation ?? 0)).toBeGreaterThan(after);
      return s;
    });

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'outpost-observability-'));
    await otlp.start();
    await fluent.start();
    promPort = await freePort();
    const env = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_STATUS_INTERVAL_MS: '200',
      OUTPOST_OBSERVABILITY_PROMETHEUS_HOST: '127.0.0.1',
      OUTPOST_OBSERVABILITY_RETRY_INTERVAL_MS: '100',
      OUTPOST_OBSERVABILITY_LOG_BATCH_DELAY_MS: '100',
      OUTPOST_OBSERVABILITY_EXPORT_TIMEOUT_MS: '2000',
    });
    suite = await startSuite([TelemetryAgent, ObservabilityAgent], {
      env,
      logger: new JsonLogger({ agent: 'edge-node' }, 'error'),
    });
    nodeId = suite.nodeId;
    nc = await connectTo(nats);
    desired = await new Kvm(nc).open(KV_DESIRED);
  });

  afterAll(async () => {
    await suite?.stop('test done');
    await nc?.close();
    await otlp.stop();
    await fluent.stop();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies the effective configuration and reports it: the telemetry agent records it as good', async () => {
    await putProfile({
      entries: METRIC_INPUTS.map((i) => entry(i)),
      exporters: { otlpHttp: { endpoint: otlp.endpoint }, prometheus: { port: promPort } },
    });
    const s = await applied(0);
    expect(s.inputs.map((i: { input: string }) => i.input).sort()).toEqual([...METRIC_INPUTS].sort());
    expect(s.exporters.map((e: { name: string }) => e.name).sort()).toEqual([
      'otlp-metrics',
      'otlp-traces',
      'prometheus',
    ]);
    await eventually(async () =>
      expect((await request('telemetry', 'status')).lastGoodGeneration).toBe(s.generation),
    );
  });

  it('serves a Prometheus scrape that promtool accepts, with the host metrics', async () => {
    const text = await eventually(async () => {
      const t = await scrape(promPort);
      expect(t).toMatch(/^system_cpu_utilization\{.*cpu="total"/m);
      return t;
    });
    const check = await promtool(text);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
    for (const name of [
      'system_cpu_time_total',
      'system_memory_usage',
      'system_filesystem_usage',
      'system_network_io_total',
      'system_disk_io_total',
      'system_cpu_load_average_1m',
      'process_memory_usage',
      'target_info',
    ])
      expect(text).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    expect(text).toMatch(new RegExp(`outpost_node_id="${nodeId}"`));
    // This process is measured (as "self" outside a systemd unit), with its real pid.
    expect(text).toMatch(new RegExp(`^process_memory_usage\\{[^}]*process_pid="${process.pid}"`, 'm'));
  });

  it('pushes OTLP/HTTP metrics with names, units, the node resource and real values', async () => {
    const req = await eventually(() => {
      const r = otlp.of('metrics').at(-1) as MetricsRequest | undefined;
      expect(r && metricsOf(r).some((m) => m.name === 'system.cpu.utilization')).toBe(true);
      return r as MetricsRequest;
    });
    const resource = attrs(req.resourceMetrics[0].resource.attributes);
    expect(resource).toMatchObject({
      'service.name': 'outpost-observability-agent',
      'outpost.node.id': nodeId,
      'outpost.agent': 'observability',
    });
    const byName = new Map(metricsOf(req).map((m) => [m.name, m]));
    expect(byName.get('system.memory.limit')?.unit).toBe('By');
    expect(byName.get('system.cpu.time')?.unit).toBe('s');
    expect(byName.get('system.cpu.time')?.sum?.isMonotonic).toBe(true);
    expect(byName.get('hw.temperature') === undefined || byName.get('hw.temperature')?.unit === 'Cel').toBe(
      true,
    );
    const points = (name: string) => {
      const m = byName.get(name);
      return m?.gauge?.dataPoints ?? m?.sum?.dataPoints ?? [];
    };
    const memTotal = Number(/^MemTotal:\s+(\d+)/m.exec(await readFile('/proc/meminfo', 'utf8'))?.[1]) * 1024;
    expect(points('system.memory.limit').map(value)).toEqual([memTotal]);
    const cores = (await readFile('/proc/stat', 'utf8')).split('\n').filter((l) => /^cpu\d+ /.test(l)).length;
    const utilization = points('system.cpu.utilization');
    expect(utilization.map((p) => attrs(p.attributes).cpu).sort()).toEqual(
      ['total', ...Array.from({ length: cores }, (_v, i) => String(i))].sort(),
    );
    for (const p of utilization) expect(value(p)).toBeGreaterThanOrEqual(0);
    const self = points('process.memory.usage').filter(
      (p) => Number(attrs(p.attributes)['process.pid']) === process.pid,
    );
    expect(self.map(value)).toEqual([expect.any(Number)]);
    expect(value(self[0])).toBeGreaterThan(0);
  });

  it('applies a profile change live: new port, fewer inputs, same process', async () => {
    const before = await status();
    const newPort = await freePort();
    await putProfile({
      entries: [entry('memory', 2), entry('load', 2)],
      exporters: { otlpHttp: { endpoint: otlp.endpoint }, prometheus: { port: newPort } },
    });
    const s = await applied(Number(before.generation));
    expect(
      s.inputs
        .map((i: { input: string; intervalSeconds: number }) => `${i.input}:${i.intervalSeconds}`)
        .sort(),
    ).toEqual(['load:2', 'memory:2']);
    const text = await scrape(newPort);
    expect(text).toMatch(/^system_memory_usage\{/m);
    expect(text).not.toMatch(/^system_cpu_utilization/m);
    await expect(fetch(`http://127.0.0.1:${promPort}/metrics`)).rejects.toThrow();
    promPort = newPort;
    expect(suite.agents.map((a) => a.status.current)).toEqual(expect.arrayContaining([expect.anything()]));
  });

  it('reports a profile it cannot apply (port in use, unknown host): the telemetry agent rolls back', async () => {
    const good = await status();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as { port: number }).port;
    try {
      for (const [exporters, reason] of [
        [{ prometheus: { port: busy } }, new RegExp(`exporters.prometheus.port ${busy}: in use`)],
        [{ otlpHttp: { endpoint: 'http://collector.invalid:4318' } }, /collector\.invalid" does not resolve/],
      ] as const) {
        const tel = await request('telemetry', 'status');
        await putProfile({ entries: [entry('cpu', 1)], exporters });
        const rolled = await eventually(async () => {
          const t = await request('telemetry', 'status');
          expect(Number(t.effective.generation)).toBeGreaterThan(Number(tel.effective.generation) + 1);
          expect(t.effective.rolledBack).toBe(true);
          return t;
        });
        expect(rolled.effective.reason).toMatch(reason);
        expect(rolled.effective.reason).toMatch(/rolled back to the last good generation/);
        const s = await eventually(async () => {
          const o = await status();
          expect(o.generation).toBe(rolled.effective.generation);
          return o;
        });
        expect(s.failedReason ?? '').toBe('');
        // The pipeline in force never stopped serving, and serves the rolled-back profile.
        expect(s.inputs.map((i: { input: string }) => i.input).sort()).toEqual(
          good.inputs.map((i: { input: string }) => i.input).sort(),
        );
        expect(await scrape(promPort)).toMatch(/^system_memory_usage\{/m);
      }
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  describe('logs, outages and traces', () => {
    let logFile: string;
    const line = (l: string) => appendFile(logFile, `${l}\n`);
    const fluentMessages = () => fluent.entries.map((e) => String(e.record.message));
    const otlpLogBodies = () =>
      otlp
        .of('logs')
        .flatMap((r) =>
          (
            r as { resourceLogs: { scopeLogs: { logRecords: { body: { stringValue: string } }[] }[] }[] }
          ).resourceLogs.flatMap((rl) =>
            rl.scopeLogs.flatMap((sl) => sl.logRecords.map((lr) => lr.body.stringValue)),
          ),
        );
    const exporter = (s: { exporters: { name: string }[] }, name: string) =>
      s.exporters.find((e) => e.name === name) as
        { state: string; buffer: { depth?: string; dropped?: string } } | undefined;

    beforeAll(async () => {
      logFile = join(dir, 'app.log');
      await writeFile(logFile, 'ERROR written before the tail started\n');
      const before = await status();
      await putProfile({
        entries: [entry('memory', 1), entry('journal', 1, 'WARN'), entry(`file:${logFile}`, 1, 'WARN')],
        exporters: {
          otlpHttp: { endpoint: otlp.endpoint },
          prometheus: { port: promPort },
          fluentForward: { host: '127.0.0.1', port: fluent.port },
        },
      });
      await applied(Number(before.generation));
    });

    it('tails a file rotation-safe, filters by level, and sends it over Fluent forward and OTLP logs', async () => {
      await line('INFO not forwarded at WARN');
      await line('WARN first');
      await line('{"level":"error","msg":"second"}');
      await line('{"level":"debug","msg":"not forwarded"}');
      await eventually(() =>
        expect(fluentMessages()).toEqual(['WARN first', '{"level":"error","msg":"second"}']),
      );
      // Rotation by rename: what the writer still appends to the old file is read first.
      await rename(logFile, `${logFile}.1`);
      await appendFile(`${logFile}.1`, 'ERROR third, late in the rotated file\n');
      await writeFile(logFile, 'WARN fourth, in the new file\n');
      const expected = [
        'WARN first',
        '{"level":"error","msg":"second"}',
        'ERROR third, late in the rotated file',
        'WARN fourth, in the new file',
      ];
      await eventually(() => expect(fluentMessages()).toEqual(expected));
      await eventually(() => expect(otlpLogBodies()).toEqual(expected));
      expect(fluent.entries[0]).toMatchObject({
        tag: 'outpost.file',
        record: { level: 'WARN', 'log.file.path': logFile, 'outpost.node.id': nodeId },
      });
      expect(fluent.entries[1].record.level).toBe('ERROR');
      const logs = otlp.of('logs')[0] as {
        resourceLogs: {
          resource: { attributes: OtlpAttr[] };
          scopeLogs: { logRecords: { severityText: string }[] }[];
        }[];
      };
      expect(attrs(logs.resourceLogs[0].resource.attributes)['outpost.node.id']).toBe(nodeId);
      expect(logs.resourceLogs[0].scopeLogs[0].logRecords[0].severityText).toBe('WARN');
      const s = await status();
      expect(s.inputs.map((i: { input: string }) => i.input)).toEqual(
        expect.arrayContaining(['journal', `file:${logFile}`]),
      );
    });

    it('buffers while the receivers are down and delivers everything, in order, when they are back', async () => {
      const memoryTimes = () =>
        otlp
          .of('metrics')
          .map((r) => metricsOf(r as unknown as MetricsRequest).find((m) => m.name === 'system.memory.limit'))
          .filter((m) => m !== undefined)
          .map((m) => BigInt(m.gauge?.dataPoints[0].timeUnixNano ?? 0));
      const receivedBefore = memoryTimes().length;
      const fluentBefore = fluent.entries.length;
      await otlp.stop();
      await fluent.stop();
      const during = ['ERROR during 1', 'ERROR during 2', 'ERROR during 3'];
      for (const l of during) await line(l);
      const buffered = await eventually(async () => {
        const s = await status();
        expect(exporter(s, 'otlp-metrics')?.state).toBe('EXPORTER_STATE_BUFFERING');
        expect(exporter(s, 'fluent-forward')?.state).toBe('EXPORTER_STATE_BUFFERING');
        expect(Number(exporter(s, 'otlp-metrics')?.buffer.depth ?? 0)).toBeGreaterThanOrEqual(2);
        expect(Number(exporter(s, 'fluent-forward')?.buffer.depth ?? 0)).toBeGreaterThanOrEqual(1);
        return s;
      });
      expect(buffered.reasons.join()).toMatch(/otlp-metrics .* unreachable/);
      await line('ERROR after the outage, before the receivers are back');
      const depth = Number(exporter(buffered, 'otlp-metrics')?.buffer.depth);
      await otlp.start();
      await fluent.start();
      const back = await eventually(async () => {
        const s = await status();
        for (const name of ['otlp-metrics', 'otlp-logs', 'fluent-forward']) {
          expect(exporter(s, name)?.state).toBe('EXPORTER_STATE_UP');
          expect(exporter(s, name)?.buffer.depth ?? '0').toBe('0');
        }
        return s;
      });
      for (const e of back.exporters) expect(e.buffer?.dropped ?? '0').toBe('0');
      await eventually(() =>
        expect(fluentMessages().slice(fluentBefore)).toEqual([
          ...during,
          'ERROR after the outage, before the receivers are back',
        ]),
      );
      const times = memoryTimes();
      expect(times.length - receivedBefore).toBeGreaterThanOrEqual(depth);
      // Every export, direct or from the buffer, arrived once and in the order it was taken.
      for (let i = 1; i < times.length; i++) expect(times[i] > times[i - 1]).toBe(true);
      // OTLP logs too: each line once, in order, the earlier ones included.
      await eventually(() =>
        expect(otlpLogBodies().slice(-5)).toEqual([
          'WARN fourth, in the new file',
          ...during,
          'ERROR after the outage, before the receivers are back',
        ]),
      );
      expect(new Set(otlpLogBodies()).size).toBe(otlpLogBodies().length);
    });

    it('traces a request across two agents as one trace, exported over OTLP', async () => {
      interface OtlpSpan {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes: OtlpAttr[];
      }
      const spans = () =>
        otlp
          .of('traces')
          .flatMap((r) =>
            (r as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }).resourceSpans.flatMap((rs) =>
              rs.scopeSpans.flatMap((ss) => ss.spans),
            ),
          );
      // A profile change: the observability agent applies it and reports to the telemetry agent
      // (BusClient request: CLIENT span), which handles the report (transport: SERVER span).
      const before = await status();
      await putProfile({
        entries: [entry('load', 1)],
        exporters: { otlpHttp: { endpoint: otlp.endpoint } },
      });
      const s = await applied(Number(before.generation));
      expect(s.tracing).toBe(true);
      const [client, server] = await eventually(() => {
        const all = spans();
        const c = all.find((x) => x.name === 'telemetry/report-apply' && x.kind === 3);
        const v = all.find(
          (x) => x.name === 'telemetry/report-apply' && x.kind === 2 && x.traceId === c?.traceId,
        );
        expect(c).toBeDefined();
        expect(v).toBeDefined();
        return [c as OtlpSpan, v as OtlpSpan];
      });
      expect(server.parentSpanId).toBe(client.spanId);
      expect(attrs(server.attributes)).toMatchObject({
        'outpost.agent': 'telemetry',
        'rpc.system': 'nats',
        'messaging.destination.name': `edge.${nodeId}.telemetry.cmd.report-apply`,
      });
      // A caller's traceparent is the parent of the agent's SERVER span.
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const h = natsHeaders();
      h.set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`);
      await nc.request(`edge.${nodeId}.observability.cmd.status`, '{}', { timeout: 5000, headers: h });
      const handled = await eventually(() => {
        const x = spans().find((sp) => sp.traceId === traceId);
        expect(x).toBeDefined();
        return x as OtlpSpan;
      });
      expect(handled).toMatchObject({
        name: 'observability/status',
        kind: 2,
        parentSpanId: '00f067aa0ba902b7',
      });
    });
  });
});
