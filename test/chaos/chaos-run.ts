/**
 * One chaos run (issue #12): a whole orchestrated update on the simulator, with `kill -9` of the
 * process that owns the update at random moments, each restarted at once as systemd would. The
 * randomness comes from one seed, printed, so a failing run replays exactly. After every kill (while
 * the victim is down) and at the end it checks what must always hold:
 *   - slot a, the slot the node ran when the update began, is never written;
 *   - no entry that can boot slot b, no default and no one-shot naming it, unless slot b holds the
 *     whole verified image; the simulator never reports having booted b without it either;
 *   - the real `bootctl list` accepts the ESP;
 * and the run ends in its final state within a bound: COMMITTED on slot b for a good image,
 * ROLLED_BACK on slot a (b's entry out of tries, a the default) for an image whose health check fails.
 */
import { expect } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toJson } from '@bufbuild/protobuf';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { KV_DESIRED, UpdateManifestSchema } from '@outpost/contracts';
import { matchesPattern, SimulatedDevice } from '@outpost/device';
import { bootctlList, eventually, simulatedNodeEnv } from '@outpost/testing';
import { hashRegion } from '../../libs/agents/update/src/image/slot-writer.js';
import {
  makeImage,
  makeKeys,
  manifestFor,
  type ImageServer,
} from '../../libs/agents/update/test/fixtures.js';
import { startApp, type AppProcess } from '../e2e/app-process.js';

export type Variant = 'good' | 'failing';
export type Deployment = 'edge-node' | 'split';

/** The processes of each deployment, and which of them own the update (the ones killed). */
const APPS: Record<Deployment, { apps: string[]; victims: string[] }> = {
  'edge-node': { apps: ['edge-node'], victims: ['edge-node'] },
  split: {
    apps: ['node-agent', 'update-agent', 'orchestrator-agent'],
    victims: ['update-agent', 'orchestrator-agent'],
  },
};

const MiB = 1024 * 1024;
const MINUTE = 60_000;
const B_ENTRY = 'outpost-b.conf';

/** mulberry32: a small seeded PRNG, so that the kill schedule is a function of the seed alone. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChaosOptions {
  nc: NatsConnection;
  natsUrl: string;
  http: ImageServer;
  variant: Variant;
  deployment: Deployment;
  seed: number;
  kills: number;
  /** Longest pause between two kills (a random share of it is taken each time). */
  maxGapMs: number;
  log: (line: string) => void;
}

export interface ChaosResult {
  kills: string[];
  finalState: string;
  checks: number;
}

const localUtc = (ms: number) => new Date(ms).toISOString().slice(0, 16);

export async function chaosRun(o: ChaosOptions): Promise<ChaosResult> {
  const random = prng(o.seed);
  const dir = await mkdtemp(join(tmpdir(), `outpost-chaos-${o.variant}-${o.deployment}-`));
  const nodeId = `chaos-${o.variant}-${o.deployment}-${o.seed}`;
  const keys = makeKeys();
  // Large enough that download and install take a while, so kills land inside the cycle.
  const image = makeImage(24 * MiB + (o.seed % 4096));
  const env = simulatedNodeEnv(dir, o.natsUrl, {
    OUTPOST_NODE_ID: nodeId,
    OUTPOST_LOG_LEVEL: 'info',
    OUTPOST_UPDATE_TRUSTED_KEYS: keys.publicBase64,
    OUTPOST_ORCHESTRATOR_JITTER_PERCENT: '0',
    OUTPOST_ORCHESTRATOR_EXPECTED_UPDATE_MINUTES: '30',
    OUTPOST_ORCHESTRATOR_TRIAL_POLL_MS: '200',
    OUTPOST_ORCHESTRATOR_UPDATE_STATUS_POLL_MS: '300',
  });
  const running = new Map<string, AppProcess>();
  const start = (app: string) => running.set(app, startApp(app, env));
  const device = await SimulatedDevice.open(join(dir, 'device'));
  const slotHash = async (slot: string, bytes: number) => {
    const s = (await device.slots()).all.find((x) => x.slot === slot);
    if (!s) throw new Error(`no slot ${slot}`);
    return hashRegion(s.path, s.offset, bytes);
  };
  const aBefore = await slotHash('a', 8 * MiB);
  let checks = 0;

  /** What must hold at any instant (called while the only writer of slots and ESP is down). */
  const invariants = async (when: string) => {
    checks++;
    expect({ when, a: await slotHash('a', 8 * MiB) }).toEqual({ when, a: aBefore });
    const loader = device.bootLoader();
    const b = await loader.find(B_ENTRY);
    const def = await loader.defaultPattern();
    const names = [
      b && b.triesLeft !== 0 ? `bootable entry ${b.fileName}` : '',
      def && b && matchesPattern(def, B_ENTRY) ? `default ${def}` : '',
      (await loader.oneShot()) === B_ENTRY ? 'one-shot' : '',
      (await device.bootRecord()).slot === 'b' ? 'booted' : '',
    ].filter(Boolean);
    if (names.length > 0) {
      const held = await slotHash('b', image.raw.length);
      expect({ when, names, b: held }).toEqual({ when, names, b: image.sha256 });
    }
    const listed = await bootctlList(device.espDir);
    expect({ when, ids: listed.map((e) => e.id).sort() }).toEqual({
      when,
      ids: (await loader.entries()).map((e) => e.id).sort(),
    });
  };

  const orchestratorStatus = async () => {
    const m = await o.nc.request(`edge.${nodeId}.orchestrator.cmd.status`, '{}', { timeout: 3000 });
    return JSON.parse(new TextDecoder().decode(m.data)) as { state?: string; detail?: string };
  };
  const orchestrator = async () => (await orchestratorStatus()).state ?? '';
  const FINAL = o.variant === 'good' ? 'ORCHESTRATION_STATE_COMMITTED' : 'ORCHESTRATION_STATE_ROLLED_BACK';
  const ENDS = ['COMMITTED', 'ROLLED_BACK', 'FAILED', 'HALTED'].map((s) => `ORCHESTRATION_STATE_${s}`);

  const kills: string[] = [];
  try {
    for (const app of APPS[o.deployment].apps) start(app);
    await eventually(async () => expect(await orchestrator()).toBe('ORCHESTRATION_STATE_IDLE'));
    await invariants('before the update');

    // The trial takes a moment either way, so that kills land in it too.
    const check = ['/bin/sh', '-c', o.variant === 'good' ? 'sleep 1' : 'sleep 1; exit 1'];
    const desired = await new Kvm(o.nc).open(KV_DESIRED);
    await desired.put(
      `${nodeId}.update`,
      JSON.stringify({
        manifest: toJson(
          UpdateManifestSchema,
          manifestFor('9.0.0', o.http.serve(`/${nodeId}.img`, { body: image.raw }), image, keys.privateKey),
        ),
        windows: [
          {
            timeZone: 'UTC',
            single: { start: localUtc(Date.now() - 2 * MINUTE), end: localUtc(Date.now() + 240 * MINUTE) },
          },
        ],
        healthPolicy: {
          deadlineSeconds: 8,
          checks: [{ name: 'image', command: check, required: true, timeoutSeconds: 5 }],
        },
        retry: 0,
      }),
    );

    for (let k = 0; k < o.kills; k++) {
      const gap = Math.round(100 + random() * (o.maxGapMs - 100));
      const victims = APPS[o.deployment].victims;
      const victim = victims[Math.floor(random() * victims.length)];
      await new Promise((resolve) => setTimeout(resolve, gap));
      const state = await orchestrator().catch(() => 'unanswered');
      const proc = running.get(victim);
      if (!proc) throw new Error(`${victim} is not running`);
      proc.kill('SIGKILL');
      await proc.exited;
      const line = `kill ${k + 1}: ${victim} after ${gap} ms (orchestrator ${state.replace('ORCHESTRATION_STATE_', '')})`;
      kills.push(line);
      o.log(line);
      // The update agent owns the slots and the ESP: with it down, nothing changes under the check.
      if (victim !== 'orchestrator-agent') await invariants(line);
      start(victim);
    }

    const final = await eventually(
      async () => {
        const s = await orchestratorStatus();
        expect(ENDS).toContain(s.state);
        return s;
      },
      240_000,
      500,
    );
    expect(final).toMatchObject({ state: FINAL });
    const finalState = final.state ?? '';
    // The update agent settles its last step (a rollback's reboot) on its own: wait for the slot.
    const expectedSlot = o.variant === 'good' ? 'b' : 'a';
    await eventually(async () => expect((await device.bootRecord()).slot).toBe(expectedSlot));
    // What is on disk is the newest state, not a stale save that renamed itself over it last. The
    // status answers from memory, so the save may land a moment after it (on a loaded machine, seconds).
    const saved = async () => {
      const file = join(dir, 'state', 'orchestrator', 'state.json');
      const doc = JSON.parse(await readFile(file, 'utf8')) as { data: { state: string } };
      return `ORCHESTRATION_STATE_${doc.data.state}`;
    };
    await eventually(async () => expect(await saved()).toBe(finalState));
    for (const p of running.values()) p.kill('SIGKILL');
    await Promise.all([...running.values()].map((p) => p.exited));
    await invariants('at the end');
    expect(await saved()).toBe(finalState);
    const loader = device.bootLoader();
    const listed = await bootctlList(device.espDir);
    if (o.variant === 'good') {
      expect((await loader.find(B_ENTRY))?.fileName).toBe(B_ENTRY); // blessed: no counter left
      expect(listed.find((e) => e.default)?.id).toBe(B_ENTRY);
    } else {
      expect((await loader.find(B_ENTRY))?.triesLeft ?? 0).toBe(0);
      expect(listed.find((e) => e.default)?.id).toBe('outpost-a.conf');
    }
    return { kills, finalState, checks };
  } catch (err) {
    const tail = [...running.entries()]
      .map(([app, p]) => `--- ${app}\n${p.output().slice(-12000)}`)
      .join('\n');
    o.log(`chaos run failed (seed ${o.seed}); kills:\n${kills.join('\n')}\n${tail}`);
    throw err;
  } finally {
    for (const p of running.values())
      if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
    await Promise.all([...running.values()].map((p) => p.exited));
    await rm(dir, { recursive: true, force: true });
  }
}
