// Observability figures for `npm run bench`, as ratios against baselines measured in the same run:
//   1. CPU and resident memory of the observability agent collecting every host input at 10 s
//      (cpu, memory, disk, diskio, net, load, temperature, agents; Prometheus + OTLP/HTTP export),
//      vs the telemetry agent process (same runtime, same bus, collecting nothing) over the same window.
//   2. export throughput of buffered data after an outage: N real OTLP metric batches waiting in the
//      JetStream offline buffer, flushed in order to an OTLP/HTTP receiver, vs POSTing the same
//      batches in order straight to the receiver (what delivery costs without the buffer).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { BufferedSink, OfflineBuffer, OtlpHttpTransport } from '@outpost/agent-observability';
import { eventually, OtlpReceiver } from '@outpost/testing';
import { NODE_ENV, NODE_FLAGS, shippedMain } from '../scripts/shipped.mjs';

const WINDOW_S = Number(process.env.BENCH_OBS_SECONDS || 60);
const BATCHES = Number(process.env.BENCH_OBS_BATCHES || 500);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const entry = (input) => ({
  input,
  type: 'TELEMETRY_SIGNAL_METRICS',
  kind: 'TELEMETRY_KIND_HOST',
  level: 'TELEMETRY_LEVEL_INFO',
  intervalSeconds: 10,
});

export async function benchObservability({ root, nats, nc, env, nodeIdOf, dir, launch }) {
  const receiver = new OtlpReceiver();
  await receiver.start();
  const promPort = await freePort();
  const telemetry = launch([...NODE_FLAGS, shippedMain(root, 'telemetry-agent')], { ...NODE_ENV, ...env });
  const observability = launch([...NODE_FLAGS, shippedMain(root, 'observability-agent')], {
    ...NODE_ENV,
    ...env,
    OUTPOST_OBSERVABILITY_PROMETHEUS_HOST: '127.0.0.1',
  });
  const nodeId = await nodeIdOf(dir);
  const desired = await new Kvm(nc).open('edge_desired');
  await desired.put(
    `${nodeId}.telemetry`,
    JSON.stringify({
      entries: ['cpu', 'memory', 'disk', 'diskio', 'net', 'load', 'temperature', 'agents'].map(entry),
      exporters: { otlpHttp: { endpoint: receiver.endpoint }, prometheus: { port: promPort } },
    }),
  );
  await eventually(async () => {
    const r = await nc.request(`edge.${nodeId}.observability.cmd.status`, '{}', { timeout: 2000 });
    if (!JSON.parse(new TextDecoder().decode(r.data)).generation) throw new Error('not applied yet');
  }, 30_000);
  await sleep(5000); // start-up settled
  const cpu0 = { obs: cpuSeconds(observability.pid), tel: cpuSeconds(telemetry.pid) };
  const rss = { obs: [], tel: [] };
  let scrapes = 0;
  for (let t = 0; t < WINDOW_S; t += 5) {
    await sleep(5000);
    rss.obs.push(rssKiB(observability.pid));
    rss.tel.push(rssKiB(telemetry.pid));
    // A Prometheus server scraping every 15 s is part of the agent's normal load.
    if (t % 15 === 0) {
      await fetch(`http://127.0.0.1:${promPort}/metrics`).then((r) => r.text());
      scrapes++;
    }
  }
  const cpu = {
    obs: cpuSeconds(observability.pid) - cpu0.obs,
    tel: cpuSeconds(telemetry.pid) - cpu0.tel,
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const batch = receiver.requests.filter((r) => r.signal === 'metrics').at(-1);
  observability.kill('SIGTERM');
  telemetry.kill('SIGTERM');

  // --- buffered export throughput ---
  const bytes = new TextEncoder().encode(JSON.stringify(batch.body));
  const url = `${receiver.endpoint}/v1/metrics`;
  const direct = async () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BATCHES; i++) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bytes,
      });
      await res.text();
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const buffered = async (round) => {
    // Provisioned here as the bench's own stream (nodeId 'bench'); the agent's are provisioned at install.
    const buffer = new OfflineBuffer(
      nc,
      { stream: `BENCH_BUFFER_${round}`, subject: `bench.buffer.${round}` },
      { nodeId: 'bench', limits: { bufferMaxBytes: 1024 * 1024 * 1024, bufferMaxAgeMs: 3_600_000 } },
    );
    await buffer.open();
    const sink = new BufferedSink('otlp-metrics', new OtlpHttpTransport(url, 10_000), buffer, 60_000);
    for (let i = 0; i < BATCHES; i++) await buffer.append(bytes); // what an outage leaves behind
    const t0 = process.hrtime.bigint();
    await sink.flush();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (!buffer.isEmpty) throw new Error('buffer not flushed');
    await sink.close();
    return s;
  };
  const directS = [];
  const bufferedS = [];
  for (let r = 0; r < 3; r++) {
    directS.push(await direct());
    bufferedS.push(await buffered(r));
  }
  await receiver.stop();
  const d = median(directS);
  const b = median(bufferedS);
  const mib = (k) => `${(k / 1024).toFixed(1)} MiB`;
  const pct = (s) => `${((100 * s) / WINDOW_S).toFixed(2)} %`;
  console.log(`observability agent, every host input at 10 s, ${WINDOW_S} s window, ${scrapes} scrapes`);
  console.log(
    `  telemetry agent (collects nothing) CPU ${pct(cpu.tel).padStart(8)}  RSS ${mib(median(rss.tel)).padStart(10)}   (baseline)`,
  );
  console.log(
    `  observability agent                CPU ${pct(cpu.obs).padStart(8)}  RSS ${mib(median(rss.obs)).padStart(10)}   ` +
      `${(cpu.obs / Math.max(cpu.tel, 0.01)).toFixed(2)}x CPU, ${(median(rss.obs) / median(rss.tel)).toFixed(2)}x RSS`,
  );
  const kib = bytes.length / 1024;
  console.log(
    `export after an outage: ${BATCHES} OTLP metric batches of ${kib.toFixed(1)} KiB (median of 3, alternating)`,
  );
  console.log(
    `  POST in order, no buffer        ${(BATCHES / d).toFixed(0).padStart(7)} batches/s   (baseline)`,
  );
  console.log(
    `  flush from the JetStream buffer ${(BATCHES / b).toFixed(0).padStart(7)} batches/s   ${(d / b).toFixed(2)}x baseline ` +
      `(${((BATCHES * kib) / 1024 / b).toFixed(1)} MiB/s)`,
  );
}
