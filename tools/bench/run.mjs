// `npm run bench`: figures as ratios against a baseline measured in the same run, on this machine.
//   1. request/reply latency through the Outpost Nest transport (a Nest app with one @Command handler)
//      vs a raw @nats-io/transport-node responder doing the same codec work (strict decode, proto3
//      JSON encode of the same NodeHealth), same server, same client; plus the real node agent;
//      interleaved rounds so that machine noise hits both alike. Target: Nest <= 1.15x raw.
//   2. footprint (tools/bench/footprint.mjs): start-up to every agent READY vs a stock Nest NATS
//      microservice; resident memory of edge-node exporting and of each agent alone after 2,000 requests
//      and a collection window (60 s; `npm run bench -- --long` for 600 s), vs bare Node and the stock
//      Nest microservice; idle CPU of edge-node with nothing configured.
//   3. a full hardware scan of this machine, vs the shell-outs the reference agent makes for less
//      (lscpu, lsblk -J, ip -j addr) in the same run; a no-change rescan costs the same scan and
//      publishes nothing.
//   4. the observability agent: CPU and RSS collecting every host input at 10 s, and export
//      throughput of buffered data after an outage (tools/bench/observability.mjs).
//   5. the hub's fleet service against 1,000 / 5,000 / 10,000 simulated nodes: inventory ingest, query
//      latency, a one-batch rollout's desired writes and completion, RSS and CPU, and their growth per
//      node (tools/bench/fleet.mjs). Target: per-node growth <= 2x at the largest size (linear, not
//      quadratic).
// Every Outpost process runs what ships (apps/<app>/dist/bundle/main.js) with the units' Node flags.
// Set BENCH_STRICT=1 to exit non-zero when a target is missed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { eventually, simulatedNodeEnv, startNatsServer } from '@outpost/testing';
import { scanOnce } from '@outpost/agent-hardware';
import { installImageFile } from '@outpost/agent-update';
import { benchObservability } from './observability.mjs';
import { benchFleet, fleetGrowthOk } from './fleet.mjs';
import { benchFootprint } from './footprint.mjs';
import { NODE_ENV, NODE_FLAGS, shippedMain } from '../scripts/shipped.mjs';
import { openSync, closeSync, writeSync, ftruncateSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';

const root = resolve(new URL('../..', import.meta.url).pathname);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 12);
const PER_ROUND = Number(process.env.BENCH_REQUESTS || 1000);
const TARGET_LATENCY_RATIO = 1.15;
const children = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function launch(args, env = {}) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function round(nc, subject, n) {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await nc.request(subject, '{}', { timeout: 5000 });
    out[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return out;
}

function summary(samples) {
  const all = Float64Array.from(samples.flatMap((s) => [...s])).sort();
  return { median: quantile(all, 0.5), p99: quantile(all, 0.99), n: all.length };
}

function suiteEnv(dir, nats) {
  return simulatedNodeEnv(dir, nats.url, { OUTPOST_LOG_LEVEL: 'warn' });
}

async function nodeIdOf(dir) {
  return eventually(
    () => JSON.parse(readFileSync(join(dir, 'state/node/identity.json'), 'utf8')).data.nodeId,
  );
}

async function main() {
  const nats = await startNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-'));
  const nc = await connect({ servers: nats.url, name: 'bench-client' });
  try {
    // --- latency ---
    // The real node agent gives the reply document; the transport bench then compares a raw responder
    // and a Nest/Outpost responder returning that same document, and the real agent is measured too.
    launch([...NODE_FLAGS, shippedMain(root, 'edge-node')], { ...NODE_ENV, ...suiteEnv(dir, nats) });
    const nodeId = await nodeIdOf(dir);
    const agentSubject = `edge.${nodeId}.node.cmd.health`;
    const sample = await eventually(() => nc.request(agentSubject, '{}', { timeout: 1000 }));
    const reply = new TextDecoder().decode(sample.data);
    const raw = launch([join(root, 'tools/bench/raw-responder.mjs'), nats.url, 'bench.raw', reply]);
    const nestSubject = 'edge.bench.node.cmd.health';
    const nestApp = launch([join(root, 'tools/bench/nest-responder.mjs'), nats.url, 'bench', reply]);
    await eventually(() => nc.request('bench.raw', '{}', { timeout: 1000 }));
    await eventually(() => nc.request(nestSubject, '{}', { timeout: 1000 }));
    for (const subject of ['bench.raw', nestSubject, agentSubject]) await round(nc, subject, 500); // warm-up
    const base = [];
    const nest = [];
    const agentRuns = [];
    for (let r = 0; r < ROUNDS; r++) {
      base.push(await round(nc, 'bench.raw', PER_ROUND));
      nest.push(await round(nc, nestSubject, PER_ROUND));
      agentRuns.push(await round(nc, agentSubject, PER_ROUND));
    }
    raw.kill('SIGTERM');
    nestApp.kill('SIGTERM');
    const b = summary(base);
    const o = summary(nest);
    const a = summary(agentRuns);
    // Paired rounds: the ratio of each round's medians, then the median of those ratios, so a slow
    // stretch of the machine weighs on both sides of a pair alike.
    const roundMedian = (xs) => quantile(Float64Array.from(xs).sort(), 0.5);
    const medianRatio = roundMedian(nest.map((n, i) => roundMedian(n) / roundMedian(base[i])));
    const agentRatio = roundMedian(agentRuns.map((n, i) => roundMedian(n) / roundMedian(base[i])));
    const p99Ratio = o.p99 / b.p99;

    for (const c of children) c.kill('SIGTERM');
    await sleep(500);

    // --- hardware scan ---
    const timeIt = async (fn, n = 15) => {
      const out = [];
      for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        await fn();
        out.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return quantile(Float64Array.from(out).sort(), 0.5);
    };
    const firstMs = await timeIt(() => scanOnce('/'), 1); // the first also asks systeminformation for DHCP use
    const scanMs = await timeIt(() => scanOnce('/'));
    const shellMs = await timeIt(() => {
      for (const [cmd, args] of [
        ['lscpu', ['-J']],
        ['lsblk', ['-J']],
        ['ip', ['-j', 'addr']],
      ])
        execFileSync(cmd, args);
    });

    const us = (v) => `${v.toFixed(1)} µs`;
    const mib = (k) => `${(k / 1024).toFixed(1)} MiB`;
    const ok = medianRatio <= TARGET_LATENCY_RATIO;
    console.log(
      `\nOutpost bench (Node ${process.versions.node}, ${ROUNDS}x${PER_ROUND} requests each, interleaved)`,
    );
    console.log(`request/reply latency            median      p99`);
    console.log(
      `  raw @nats-io/transport-node  ${us(b.median).padStart(10)} ${us(b.p99).padStart(10)}   (baseline)`,
    );
    console.log(`  Outpost Nest transport       ${us(o.median).padStart(10)} ${us(o.p99).padStart(10)}`);
    console.log(
      `  ratio Nest/raw               ${medianRatio.toFixed(3).padStart(8)}x ${p99Ratio.toFixed(3).padStart(9)}x   ` +
        `target median <= ${TARGET_LATENCY_RATIO}x: ${ok ? 'met' : 'MISSED'} (median of ${ROUNDS} paired rounds)`,
    );
    console.log(
      `  node agent cmd.health        ${us(a.median).padStart(10)} ${us(a.p99).padStart(10)}   ` +
        `${agentRatio.toFixed(3)}x raw (real handler: judges health on each request)`,
    );
    console.log(`hardware scan of this machine (rescans: median of 15)`);
    console.log(
      `  lscpu -J + lsblk -J + ip -j addr ${shellMs.toFixed(1).padStart(7)} ms   (baseline: the reference agent's shell-outs)`,
    );
    console.log(
      `  first full scan                ${firstMs.toFixed(1).padStart(7)} ms   ${(firstMs / shellMs).toFixed(2)}x baseline`,
    );
    console.log(
      `  no-change rescan               ${scanMs.toFixed(1).padStart(7)} ms   ${(scanMs / shellMs).toFixed(2)}x baseline (publishes nothing)`,
    );
    // --- install throughput ---
    const MiB = 1024 * 1024;
    const imageMiB = Number(process.env.BENCH_IMAGE_MIB || 256);
    const imgDir = mkdtempSync(join(tmpdir(), 'outpost-bench-img-'));
    const image = join(imgDir, 'image.raw');
    const disk = join(imgDir, 'disk.img');
    const fd = openSync(image, 'w');
    const block = Buffer.alloc(4 * MiB);
    for (let i = 0; i < imageMiB / 4; i++) writeSync(fd, randomFillSync(block));
    closeSync(fd);
    const diskFd = openSync(disk, 'w');
    ftruncateSync(diskFd, (imageMiB + 2) * MiB);
    closeSync(diskFd);
    const target = { path: disk, offset: MiB, size: (imageMiB + 1) * MiB };
    const ours = [];
    const tools = [];
    for (let r = 0; r < 3; r++) {
      let t0 = process.hrtime.bigint();
      execFileSync('sha256sum', [image]);
      execFileSync('dd', [
        `if=${image}`,
        `of=${disk}`,
        'bs=4M',
        'seek=1M',
        'oflag=seek_bytes',
        'conv=fsync,notrunc',
        'status=none',
      ]);
      tools.push(Number(process.hrtime.bigint() - t0) / 1e9);
      t0 = process.hrtime.bigint();
      await installImageFile(image, target);
      ours.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    rmSync(imgDir, { recursive: true, force: true });
    const oursS = quantile(Float64Array.from(ours).sort(), 0.5);
    const toolsS = quantile(Float64Array.from(tools).sort(), 0.5);
    const installRatio = toolsS / oursS;
    console.log(`install throughput, ${imageMiB} MiB image (median of 3, alternating)`);
    console.log(
      `  sha256sum + dd conv=fsync      ${(imageMiB / toolsS).toFixed(0).padStart(7)} MiB/s   (baseline)`,
    );
    console.log(
      `  update agent (hash+write+fsync+read-back) ${(imageMiB / oursS).toFixed(0).padStart(5)} MiB/s   ${installRatio.toFixed(2)}x baseline, target >= 0.9x: ${installRatio >= 0.9 ? 'met' : 'MISSED'}`,
    );
    // --- footprint ---
    const footprint = await benchFootprint({ root, nats, nc, launch });
    // --- observability agent ---
    const obsDir = mkdtempSync(join(tmpdir(), 'outpost-bench-obs-'));
    await benchObservability({ root, nats, nc, env: suiteEnv(obsDir, nats), nodeIdOf, dir: obsDir, launch });
    rmSync(obsDir, { recursive: true, force: true });
    // --- fleet service ---
    const fleetOk = fleetGrowthOk(await benchFleet());
    if (process.env.BENCH_STRICT === '1' && !(ok && footprint.met && fleetOk)) process.exitCode = 1;
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await nc.close();
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
});
