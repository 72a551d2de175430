/**
 * Chaos over the whole update cycle (issue #12): for a good image and one whose health check fails,
 * on edge-node (every agent in one process) and on the split deployment (node, update and
 * orchestrator agents as separate processes, killed independently), kill -9 at seeded random moments.
 * `npm test` runs one fixed seed per case; `npm run test:chaos` runs more (OUTPOST_CHAOS_SEEDS:
 * a comma list of seeds, or random:N). Every run prints its seed and kill schedule: replay a failure
 * with OUTPOST_CHAOS_SEEDS=<seed>. Needs the build (npm test builds).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NatsConnection } from '@nats-io/nats-core';
import { connectTo, startNatsServer, type NatsServerHandle } from '@outpost/testing';
import { ImageServer } from '../../libs/agents/update/test/fixtures.js';
import { chaosRun, type Deployment, type Variant } from './chaos-run.js';

function seeds(): number[] {
  const spec = process.env.OUTPOST_CHAOS_SEEDS ?? '';
  const random = /^random:(\d+)$/.exec(spec);
  if (random) return Array.from({ length: Number(random[1]) }, () => Math.floor(Math.random() * 2 ** 31));
  if (spec) return spec.split(',').map((s) => Number(s.trim()));
  return [];
}

const KILLS = Number(process.env.OUTPOST_CHAOS_KILLS ?? 3);
const FIXED: Record<`${Variant}/${Deployment}`, number> = {
  'good/edge-node': 1201,
  'failing/edge-node': 1202,
  'good/split': 1203,
  'failing/split': 1204,
};
const CASES: [Variant, Deployment, number][] = [];
for (const [key, fixed] of Object.entries(FIXED)) {
  const [variant, deployment] = key.split('/') as [Variant, Deployment];
  for (const seed of seeds().length ? seeds() : [fixed]) CASES.push([variant, deployment, seed]);
}

describe('kill -9 at random moments of an orchestrated update', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  const http = new ImageServer();

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectTo(nats, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    await http.start();
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    await http.stop();
  });

  it.each(CASES)(
    '%s image on %s, seed %d: ends in its final state, invariants hold after every kill',
    async (variant, deployment, seed) => {
      const lines: string[] = [];
      const log = (line: string) => lines.push(line);
      try {
        const result = await chaosRun({
          nc,
          natsUrl: nats.url,
          http,
          variant,
          deployment,
          seed,
          kills: KILLS,
          maxGapMs: 3_000,
          log,
        });
        expect(result.kills).toHaveLength(KILLS);
        expect(result.checks).toBeGreaterThanOrEqual(2);
      } finally {
        process.stdout.write(`chaos ${variant}/${deployment} seed ${seed}\n${lines.join('\n')}\n`);
      }
    },
    900_000,
  );
});
