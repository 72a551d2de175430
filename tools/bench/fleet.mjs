// Fleet scale (`npm run bench`, or `node tools/bench/fleet.mjs` after `npm run build`): the built fleet
// service (apps/fleet-service) on a real nats-server hub (JetStream domain "hub") against N simulated
// nodes, for N in BENCH_FLEET_NODES (default 1000,5000,10000). The simulated nodes are lightweight:
//   - each publishes its heartbeat (node evt.heartbeat, labels site=s<i % 20>) on the hub, where a
//     stream stores it and FLEET_EVENTS sources it (in a fleet FLEET_EVENTS sources each node's own
//     EDGE_EVENTS; here the nodes publish to the hub directly: one server cannot host 10,000 domains);
//   - one responder answers every node's JetStream domain ($JS.<node>.API.$KV.edge_desired.<node>.update,
//     the only request a desired write makes): it decodes the DesiredUpdate with its contract, acks like
//     JetStream, and the node then reports COMMITTED (orchestrator evt.state) as a node would.
// Measured per N: time until the inventory holds every node, inventory query latency (a selector
// matching 1/20 of the fleet, 100 per page), time from a one-batch rollout's start until every desired
// key is written, and until the rollout completes; the service's RSS and CPU. Growth is reported per
// node against the smallest N of the same run (1.0x: linear; N/N0 would be quadratic).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { simulatedNodeEnv, startNatsServer } from '@outpost/testing';
import {
  decodeJsonText,
  DesiredUpdateSchema,
  encodeInit,
  FLEET_EVENT_STREAM,
  HeartbeatSchema,
  OrchestratorStateChangeSchema,
} from '@outpost/contracts';

const root = resolve(new URL('../..', import.meta.url).pathname);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const utf8 = new TextDecoder();
const SITES = 20;

function procStat(pid) {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100/s)
  return { rssKiB: rss, cpuMs: ticks * 10 };
}

async function until(what, check, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`fleet bench: timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function one(n) {
  const nats = await startNatsServer({
    jetstream: false,
    configText: (storeDir) => `jetstream { domain: hub, store_dir: "${storeDir}" }\n`,
  });
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-fleet-'));
  const nc = await connect({ servers: nats.url, name: 'bench-fleet-nodes' });
  const operator = await connect({ servers: nats.url, name: 'bench-fleet-operator' });
  let child;
  try {
    const ids = Array.from({ length: n }, (_, i) => `sim-${String(i).padStart(5, '0')}`);

    // Every node's domain, answered by one responder.
    let written = 0;
    let lastWriteAt = 0;
    let seq = 0;
    nc.subscribe('$JS.*.API.$KV.edge_desired.*.update', {
      callback: (err, m) => {
        if (err) return;
        const node = m.subject.split('.')[1];
        const desired = decodeJsonText(DesiredUpdateSchema, utf8.decode(m.data));
        m.respond(JSON.stringify({ stream: 'KV_edge_desired', seq: ++seq, domain: node }));
        written++;
        lastWriteAt = performance.now();
        nc.publish(
          `edge.${node}.orchestrator.evt.state`,
          encodeInit(OrchestratorStateChangeSchema, {
            from: 6,
            status: { state: 7, version: desired.manifest?.version ?? '' },
          }),
        );
      },
    });
    await nc.flush();

    child = spawn(process.execPath, [join(root, 'apps/fleet-service/dist/main.js')], {
      env: {
        ...process.env,
        ...simulatedNodeEnv(dir, nats.url, {
          OUTPOST_NODE_ID: 'hub',
          OUTPOST_LOG_LEVEL: process.env.BENCH_FLEET_LOG || 'error',
          OUTPOST_FLEET_REPLICAS: '1',
          OUTPOST_FLEET_TICK_MS: '200',
        }),
      },
      stdio: ['ignore', process.env.BENCH_FLEET_LOG ? 'inherit' : 'ignore', 'inherit'],
    });
    const req = async (verb, body = {}) =>
      JSON.parse(
        utf8.decode(
          (await operator.request(`edge.hub.fleet.cmd.${verb}`, JSON.stringify(body), { timeout: 30_000 }))
            .data,
        ),
      );
    await until(
      'the fleet service',
      () =>
        req('status').then(
          () => true,
          () => false,
        ),
      60_000,
    );
    // The hub's FLEET_EVENTS sources a stream holding the nodes' events, as it sources each node's
    // EDGE_EVENTS in a fleet; here that stream (SIM_EVENTS) is on the hub itself.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'SIM_EVENTS', subjects: ['edge.*.*.evt.>'], max_msgs_per_subject: 10 });
    await jsm.streams.add({ name: FLEET_EVENT_STREAM, subjects: [], sources: [{ name: 'SIM_EVENTS' }] });
    // One node first, so that the clock starts once the service reads FLEET_EVENTS.
    nc.publish(
      'edge.sim-warm.node.evt.heartbeat',
      encodeInit(HeartbeatSchema, { nodeId: 'sim-warm', health: 1 }),
    );
    await until('the events consumer', async () => (await req('status')).nodes === 1, 60_000);
    const idle = procStat(child.pid);

    // Inventory: every node's heartbeat.
    const t0 = performance.now();
    for (const [i, id] of ids.entries()) {
      nc.publish(
        `edge.${id}.node.evt.heartbeat`,
        encodeInit(HeartbeatSchema, {
          nodeId: id,
          sequence: 1,
          health: 1,
          labels: { site: `s${i % SITES}` },
        }),
      );
      if (i % 1000 === 999) await nc.flush();
    }
    await nc.flush();
    await until('the inventory', async () => (await req('status')).nodes === n + 1, 300_000);
    const ingestMs = performance.now() - t0;

    // Query latency: a selector matching 1/20 of the fleet, first page of 100.
    const lat = [];
    for (let i = 0; i < 30; i++) {
      const q0 = performance.now();
      const page = await req('nodes', { selector: `site=s${i % SITES}`, limit: 100 });
      lat.push(performance.now() - q0);
      if (page.total !== Math.ceil(n / SITES) && page.total !== Math.floor(n / SITES))
        throw new Error(`fleet bench: selector matched ${page.total}`);
    }
    lat.sort((a, b) => a - b);
    const queryMs = lat[Math.floor(lat.length / 2)];

    // A rollout of one batch over the whole fleet.
    const r0 = performance.now();
    await req('rollout-create', {
      id: 'bench',
      selector: 'site',
      update: {
        manifest: {
          version: '2.0.0',
          imageUrl: 'https://updates.example.net/2.0.0.img',
          size: '1048576',
          sha256: 'a'.repeat(64),
          signature: 'c2ln',
        },
      },
      strategy: { batches: [{ percent: 100 }] },
    });
    await until('every desired key', () => written >= n, 600_000);
    const batchWriteMs = lastWriteAt - r0;
    await until(
      'the rollout to complete',
      async () =>
        (await req('rollout-status', { id: 'bench', targetLimit: 1 })).state === 'ROLLOUT_STATE_COMPLETED',
      600_000,
    );
    const completeMs = performance.now() - r0;
    const done = procStat(child.pid);
    return {
      n,
      ingestMs,
      queryMs,
      batchWriteMs,
      completeMs,
      rssKiB: done.rssKiB,
      cpuMs: done.cpuMs - idle.cpuMs,
    };
  } finally {
    child?.kill('SIGTERM');
    await sleep(300);
    await operator.close();
    await nc.close();
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchFleet(
  sizes = (process.env.BENCH_FLEET_NODES || '1000,5000,10000').split(',').map(Number),
) {
  const rows = [];
  for (const n of sizes) rows.push(await one(n));
  const base = rows[0];
  const per = (row, key) => row[key] / row.n / (base[key] / base.n);
  console.log('\nFleet service (hub) against simulated nodes, one nats-server:');
  console.log(
    '  nodes   ingest      query p50  batch writes  complete    RSS      CPU      per-node growth vs first (ingest/batch/CPU)',
  );
  for (const r of rows) {
    console.log(
      `  ${String(r.n).padStart(5)}  ${r.ingestMs.toFixed(0).padStart(7)} ms  ${r.queryMs.toFixed(1).padStart(6)} ms  ${r.batchWriteMs.toFixed(0).padStart(8)} ms  ${r.completeMs.toFixed(0).padStart(7)} ms  ${(r.rssKiB / 1024).toFixed(0).padStart(4)} MiB  ${r.cpuMs.toFixed(0).padStart(6)} ms  ${per(r, 'ingestMs').toFixed(2)}x / ${per(r, 'batchWriteMs').toFixed(2)}x / ${per(r, 'cpuMs').toFixed(2)}x`,
    );
  }
  return rows;
}

/** Linear, not quadratic: at the largest size, batch writes and CPU per node within 2x of the smallest. */
export function fleetGrowthOk(rows) {
  const [base, last] = [rows[0], rows[rows.length - 1]];
  const growth = (key) => last[key] / last.n / (base[key] / base.n);
  const ok = growth('batchWriteMs') <= 2 && growth('cpuMs') <= 2;
  console.log(
    `  per-node growth at ${last.n} nodes: batch writes ${growth('batchWriteMs').toFixed(2)}x, CPU ${growth('cpuMs').toFixed(2)}x; target <= 2x: ${ok ? 'met' : 'MISSED'}`,
  );
  return ok;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  fleetGrowthOk(await benchFleet());
}
