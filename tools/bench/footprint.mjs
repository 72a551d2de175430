// Footprint figures for `npm run bench` (issue #15), as ratios against baselines measured in the same run:
//   1. start-up: spawn to every agent of edge-node READY (their status on the bus), vs spawn to
//      LISTENING of a stock Nest NATS microservice (Nest's own NATS transport, one handler); the
//      medians of interleaved rounds after a warm-up round of each. edge-node restarts the same node
//      each round, as after a reboot; its first start (a new node) is reported apart.
//   2. resident memory after 2,000 requests and a collection window, vs bare Node and the stock Nest
//      microservice: edge-node with all seven agents and the observability agent exporting (every host
//      input at 10 s, OTLP/HTTP + Prometheus, scraped every 15 s), and each agent alone (the seven
//      split units on one node, the same profile).
//   3. idle CPU of edge-node with nothing configured, over the same window.
// The window is 60 s, 600 s with --long (or BENCH_FOOTPRINT_SECONDS); the report says which ran.
// Every Outpost process runs what ships (shippedMain) with the units' Node flags (NODE_FLAGS).
//   node tools/bench/footprint.mjs [--long]     (alone: starts its own nats-server)
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { eventually, OtlpReceiver, simulatedNodeEnv, startNatsServer, freePort } from '@outpost/testing';
import { NODE_ENV, NODE_FLAGS, shippedMain, unitEnv } from '../scripts/shipped.mjs';

const AGENTS = ['node', 'hardware', 'cluster', 'update', 'orchestrator', 'telemetry', 'observability'];
const INPUTS = ['cpu', 'memory', 'disk', 'diskio', 'net', 'load', 'temperature', 'agents'];
const REQUESTS = 2000;
const STARTUP_ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS || 5);
const TARGET = { suiteMiB: 100, agentMiB: 85, startupRatio: 1.5, idleCpuPct: 0.2 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const decoder = new TextDecoder();

export function windowSeconds(argv = process.argv) {
  if (process.env.BENCH_FOOTPRINT_SECONDS) return Number(process.env.BENCH_FOOTPRINT_SECONDS);
  return argv.includes('--long') ? 600 : 60;
}

function status(pid) {
  return readFileSync(`/proc/${pid}/status`, 'utf8');
}

export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(status(pid));
  return m ? Number(m[1]) : NaN;
}

function cpuSeconds(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ
}

/** Resident memory by kind (/proc/<pid>/smaps): the node binary's pages, other files, anonymous. */
export function residentBreakdown(pid) {
  const out = { nodeBinary: 0, otherFiles: 0, anonymous: 0 };
  let kind = 'anonymous';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1];
      if (/\/node$|\/bin\/node/.test(name)) kind = 'nodeBinary';
      else if (name.startsWith('/')) kind = 'otherFiles';
      else kind = 'anonymous';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]);
  }
  return out;
}

function waitForLine(child, text) {
  return new Promise((ok, fail) => {
    let seen = '';
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      if (seen.includes(text)) ok();
    });
    child.once('exit', (code) => fail(new Error(`exited with ${code} before printing ${text}`)));
  });
}

/** Resolves when every agent of nodeId has published a READY status. */
function allReady(nc, nodeId, agents) {
  const ready = new Set();
  const sub = nc.subscribe(`edge.${nodeId}.*.status`);
  return (async () => {
    for await (const msg of sub) {
      const s = JSON.parse(decoder.decode(msg.data));
      if (s.state === 'AGENT_STATE_READY') ready.add(msg.subject.split('.')[2]);
      if (agents.every((a) => ready.has(a))) break;
    }
    sub.unsubscribe();
  })();
}

const entry = (input) => ({
  input,
  type: 'TELEMETRY_SIGNAL_METRICS',
  kind: 'TELEMETRY_KIND_HOST',
  level: 'TELEMETRY_LEVEL_INFO',
  intervalSeconds: 10,
});

async function exportEverything(nc, nodeId, otlpEndpoint, promPort) {
  const desired = await new Kvm(nc).open('edge_desired');
  await desired.put(
    `${nodeId}.telemetry`,
    JSON.stringify({
      entries: INPUTS.map(entry),
      exporters: { otlpHttp: { endpoint: otlpEndpoint }, prometheus: { port: promPort } },
    }),
  );
  await eventually(async () => {
    const r = await nc.request(`edge.${nodeId}.observability.cmd.status`, '{}', { timeout: 2000 });
    if (!JSON.parse(decoder.decode(r.data)).generation) throw new Error('not applied yet');
  }, 60_000);
}

async function requests(nc, subject, body = '{}') {
  for (let i = 0; i < REQUESTS; i++) await nc.request(subject, body, { timeout: 5000 });
}

export async function benchFootprint({ root, nats, nc, launch, windowS = windowSeconds() }) {
  const dirs = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'outpost-bench-fp-'));
    dirs.push(d);
    return d;
  };
  // V8's compile cache as the units keep it (CacheDirectory=): the first start-up round fills it.
  const cacheRoot = tempDir();
  const outpost = (app, env) =>
    launch([...NODE_FLAGS, shippedMain(root, app)], { ...unitEnv(app, cacheRoot), ...env });
  const stockArgs = [join(root, 'tools/bench/stock-nest.mjs'), nats.url, 'bench.stock.ping'];
  const nodeEnv = (dir, nodeId, extra = {}) =>
    simulatedNodeEnv(dir, nats.url, { OUTPOST_LOG_LEVEL: 'warn', OUTPOST_NODE_ID: nodeId, ...extra });
  const stop = async (child) => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
  };
  try {
    // --- 1. start-up, interleaved rounds ---
    // edge-node restarts the same node each round, as after a reboot: its state, identity and JetStream
    // assets exist. Its first start (which, on this development server without NATS users, provisions
    // the JetStream assets that an install provisions once) is reported on its own line.
    const startup = { stock: [], suite: [], bare: [], first: 0 };
    const nodeDir = tempDir();
    for (let r = 0; r <= STARTUP_ROUNDS; r++) {
      let t0 = performance.now();
      const bare = launch(['-e', 'process.stdout.write("LISTENING\\n"); setInterval(() => {}, 1000)']);
      await waitForLine(bare, 'LISTENING');
      if (r > 0) startup.bare.push(performance.now() - t0);
      await stop(bare);
      t0 = performance.now();
      const stock = launch(stockArgs);
      await waitForLine(stock, 'LISTENING');
      if (r > 0) startup.stock.push(performance.now() - t0);
      await stop(stock);
      const ready = allReady(nc, 'benchstart', AGENTS);
      await nc.flush();
      t0 = performance.now();
      const suite = outpost('edge-node', nodeEnv(nodeDir, 'benchstart'));
      await ready;
      if (r === 0) startup.first = performance.now() - t0;
      else startup.suite.push(performance.now() - t0);
      await stop(suite);
    }

    // --- 2./3. memory and idle CPU over the window ---
    const receiver = new OtlpReceiver();
    await receiver.start();
    const promPorts = [await freePort(), await freePort()];
    const bare = launch(['-e', 'setInterval(() => {}, 1000)']);
    const stock = launch(stockArgs);
    await waitForLine(stock, 'LISTENING');
    const exportingEnv = (id) =>
      nodeEnv(tempDir(), id, { OUTPOST_OBSERVABILITY_PROMETHEUS_HOST: '127.0.0.1' });
    const suite = outpost('edge-node', exportingEnv('benchsuite'));
    const idle = outpost('edge-node', nodeEnv(tempDir(), 'benchidle'));
    const splitEnv = exportingEnv('benchsplit');
    const split = Object.fromEntries(AGENTS.map((a) => [a, outpost(`${a}-agent`, splitEnv)]));
    const readyAll = [
      allReady(nc, 'benchsuite', AGENTS),
      allReady(nc, 'benchidle', AGENTS),
      allReady(nc, 'benchsplit', AGENTS),
    ];
    await nc.flush();
    await Promise.all(readyAll);
    await exportEverything(nc, 'benchsuite', receiver.endpoint, promPorts[0]);
    await exportEverything(nc, 'benchsplit', receiver.endpoint, promPorts[1]);
    await requests(
      nc,
      'bench.stock.ping',
      JSON.stringify({ pattern: 'bench.stock.ping', data: {}, id: '1' }),
    );
    await requests(nc, 'edge.benchsuite.node.cmd.describe');
    await requests(nc, 'edge.benchsplit.node.cmd.describe');
    await sleep(5000); // start-up settled
    const watched = { bare, stock, suite, idle, ...split };
    const peak = Object.fromEntries(Object.keys(watched).map((k) => [k, 0]));
    const cpu0 = { idle: cpuSeconds(idle.pid), bare: cpuSeconds(bare.pid) };
    let scrapes = 0;
    for (let t = 0; t < windowS; t += 5) {
      await sleep(5000);
      for (const [k, c] of Object.entries(watched)) peak[k] = Math.max(peak[k], rssKiB(c.pid));
      if (t % 15 === 0) {
        // A Prometheus server scraping every 15 s is part of the exporting agent's normal load.
        for (const port of promPorts) await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
        scrapes++;
      }
    }
    const cpu = {
      idle: (100 * (cpuSeconds(idle.pid) - cpu0.idle)) / windowS,
      bare: (100 * (cpuSeconds(bare.pid) - cpu0.bare)) / windowS,
    };
    const rss = Object.fromEntries(Object.entries(watched).map(([k, c]) => [k, rssKiB(c.pid)]));
    const parts = residentBreakdown(suite.pid);
    const exported = receiver.requests.length;
    await Promise.all(Object.values(watched).map(stop));
    await receiver.stop();
    return report({ windowS, startup, rss, peak, cpu, parts, scrapes, exported });
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

function report({ windowS, startup, rss, peak, cpu, parts, scrapes, exported }) {
  const mib = (k) => `${(k / 1024).toFixed(1)} MiB`;
  const ms = (v) => `${v.toFixed(0)} ms`;
  const met = (ok) => (ok ? 'met' : 'MISSED');
  const s = { bare: median(startup.bare), stock: median(startup.stock), suite: median(startup.suite) };
  const startupRatio = s.suite / s.stock;
  const agentsMax = Math.max(...AGENTS.map((a) => rss[a]));
  const split = AGENTS.reduce((sum, a) => sum + rss[a], 0);
  const line = (name, kib, extra = '') =>
    console.log(
      `  ${name.padEnd(30)} ${mib(kib).padStart(10)} ${mib(peak[name.split(' ')[0]] ?? kib).padStart(10)}   ` +
        `${(kib / rss.bare).toFixed(2)}x bare ${(kib / rss.stock).toFixed(2)}x stock${extra}`,
    );
  const window = windowS >= 600 ? `${windowS} s (--long)` : `${windowS} s (default; --long for 600 s)`;
  const env = { ...NODE_ENV, NODE_COMPILE_CACHE: '<dir>' };
  const units = [...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...NODE_FLAGS].join(' ');
  console.log(`footprint (what ships, run as the units run it: ${units || 'no flags'})`);
  console.log(
    `start-up, median of ${startup.suite.length} interleaved rounds (after one warm-up round each)`,
  );
  console.log(`  bare node to first output        ${ms(s.bare).padStart(8)}`);
  console.log(
    `  stock Nest NATS microservice     ${ms(s.stock).padStart(8)}   (baseline: spawn to listening)`,
  );
  console.log(
    `  edge-node, every agent READY     ${ms(s.suite).padStart(8)}   ${startupRatio.toFixed(2)}x stock, ` +
      `target <= ${TARGET.startupRatio}x: ${met(startupRatio <= TARGET.startupRatio)}`,
  );
  console.log(
    `  edge-node, first start          ${ms(startup.first).padStart(8)}   (a new node: provisions its JetStream assets)`,
  );
  console.log(
    `resident memory after ${REQUESTS} requests and a ${window} collection window (${scrapes} scrapes, ` +
      `${exported} OTLP posts)`,
  );
  console.log(`  ${''.padEnd(30)} ${'end'.padStart(10)} ${'peak'.padStart(10)}`);
  line('bare', rss.bare, '   (baseline)');
  line('stock', rss.stock, '   (baseline: stock Nest NATS microservice, one handler)');
  line(
    'suite',
    rss.suite,
    `   edge-node exporting; target <= ${TARGET.suiteMiB} MiB: ${met(rss.suite <= TARGET.suiteMiB * 1024)}`,
  );
  for (const a of AGENTS) line(a, rss[a], `   ${a}-agent alone`);
  console.log(
    `  any one agent alone at most ${mib(agentsMax)}, target <= ${TARGET.agentMiB} MiB: ` +
      `${met(agentsMax <= TARGET.agentMiB * 1024)}; the seven split units together ${mib(split)}`,
  );
  console.log(
    `  edge-node's resident pages: node binary ${mib(parts.nodeBinary)}, other files ${mib(parts.otherFiles)}, ` +
      `anonymous (heaps, code, stacks) ${mib(parts.anonymous)}`,
  );
  console.log(`idle CPU, ${windowS} s window`);
  console.log(
    `  bare node                        ${cpu.bare.toFixed(3).padStart(7)} % of a core   (baseline)`,
  );
  console.log(
    `  edge-node, nothing configured    ${cpu.idle.toFixed(3).padStart(7)} % of a core   ` +
      `target < ${TARGET.idleCpuPct} %: ${met(cpu.idle < TARGET.idleCpuPct)}`,
  );
  return {
    met:
      startupRatio <= TARGET.startupRatio &&
      rss.suite <= TARGET.suiteMiB * 1024 &&
      agentsMax <= TARGET.agentMiB * 1024 &&
      cpu.idle < TARGET.idleCpuPct,
  };
}

// Alone: `node tools/bench/footprint.mjs [--long]` (npm run build first).
if (import.meta.url === `file://${process.argv[1]}`) {
  const root = resolve(new URL('../..', import.meta.url).pathname);
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url, name: 'bench-footprint' });
  const children = new Set();
  const launch = (args, env = {}) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  try {
    const { met } = await benchFootprint({ root, nats, nc, launch });
    if (process.env.BENCH_STRICT === '1' && !met) process.exitCode = 1;
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await nc.close();
    await nats.stop();
  }
}
