/**
 * The update orchestrator driving the real update agent and node agent on a real nats-server and a
 * SimulatedDevice (GPT disk image, ESP with systemd-boot counting), with images served over HTTP.
 * A simulated reboot is played as the boot would: the suite stops and starts again (runMain does
 * this in an app). Windows open now are written relative to Date.now(); one that opens later is
 * reached by stepping the orchestrator's clock (a ShiftedClock) to it, never by waiting for real time.
 * Scenarios: commit; a required agent missing after the reboot -> rollback; the new slot does not
 * boot -> fallback reported; a window too short -> waits (and a bad desired state is rejected); the
 * old slot unhealthy too after the rollback -> HALTED; a full rollout group waits for its lease.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toJson } from '@bufbuild/protobuf';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { Kvm, type KV } from '@nats-io/kv';
import { JsonLogger, startSuite, type RunningSuite } from '@outpost/agent-runtime';
import { KV_DESIRED, KV_STATUS, UpdateManifestSchema, type UpdateManifest } from '@outpost/contracts';
import { SimulatedDevice } from '@outpost/device';
import { NodeAgent } from '@outpost/agent-node';
import { UpdateAgent } from '@outpost/agent-update';
import {
  bootctlList,
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { OrchestratorAgent, OrchestratorModule, ShiftedClock } from '@outpost/agent-orchestrator';
import {
  ImageServer,
  makeImage,
  makeKeys,
  manifestFor,
  type TestImage,
} from '../../libs/agents/update/test/fixtures.js';

type Json = Record<string, unknown>;
const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data)) as Json;
const MiB = 1024 * 1024;
const MINUTE = 60_000;
const localUtc = (ms: number) => new Date(ms).toISOString().slice(0, 16);

const HEALTHY_AGENTS = 'node,update,orchestrator';

describe('update orchestrator with the update and node agents', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let desiredKv: KV;
  let statusKv: KV;
  const http = new ImageServer();
  const keys = makeKeys();
  let image: TestImage;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    await http.start();
    nc = await connectTo(nats);
    image = makeImage(2 * MiB + 777);
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await nc?.close();
    await nats?.stop();
    await http.stop();
  });

  /**
   * One simulated node (own dir, own node id) running node + update + orchestrator in one suite; the
   * orchestrator on `clock` when given (it keeps it across the simulated reboots).
   */
  async function startNode(name: string, clock?: ShiftedClock) {
    const orchestrator = clock
      ? { ...OrchestratorAgent, module: OrchestratorModule.withClock(clock) }
      : OrchestratorAgent;
    const dir = await mkdtemp(join(tmpdir(), `outpost-orch-${name}-`));
    const baseEnv = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_NODE_ID: `orch-${name}`,
      OUTPOST_UPDATE_TRUSTED_KEYS: keys.publicBase64,
      OUTPOST_NODE_REQUIRED_AGENTS: HEALTHY_AGENTS,
      OUTPOST_ORCHESTRATOR_JITTER_PERCENT: '0',
      OUTPOST_ORCHESTRATOR_EXPECTED_UPDATE_MINUTES: '30',
      OUTPOST_ORCHESTRATOR_TRIAL_POLL_MS: '200',
      OUTPOST_ORCHESTRATOR_UPDATE_STATUS_POLL_MS: '200',
      OUTPOST_ORCHESTRATOR_LEASE_RETRY_MS: '200',
    });
    const node = {
      dir,
      suite: undefined as RunningSuite | undefined,
      nodeId: '',
      rebooted: Promise.resolve(),
      async start(extra: NodeJS.ProcessEnv = {}) {
        node.suite = await startSuite([NodeAgent, UpdateAgent, orchestrator], {
          env: { ...baseEnv, ...extra },
          logger: new JsonLogger({ agent: 'edge-node' }, (process.env.E2E_LOG as 'error') ?? 'error'),
        });
        node.nodeId = node.suite.nodeId;
        const device = node.suite.device;
        if (!(device instanceof SimulatedDevice)) throw new Error('expected the simulated device');
        node.rebooted = new Promise((resolve) => device.onReboot(() => resolve()));
      },
      /** Waits for the simulated reboot, then restarts every agent as the boot would. */
      async afterReboot(extra: NodeJS.ProcessEnv = {}) {
        await node.rebooted;
        await node.suite?.stop('simulated reboot');
        await node.start(extra);
      },
      device: () => SimulatedDevice.open(join(dir, 'device')),
      async request(agent: string, verb: string, body = '{}') {
        const msg = await nc.request(`edge.${node.nodeId}.${agent}.cmd.${verb}`, body, { timeout: 10_000 });
        return { body: json(msg), code: msg.headers?.get('Nats-Service-Error-Code') };
      },
      async stateIs(state: string) {
        return eventually(async () => {
          const { body } = await node.request('orchestrator', 'status');
          expect(body.state).toBe(`ORCHESTRATION_STATE_${state}`);
          return body;
        });
      },
    };
    cleanups.push(async () => {
      await node.suite?.stop('test done');
      await rm(dir, { recursive: true, force: true });
    });
    await node.start();
    return node;
  }

  function desired(manifest: UpdateManifest, windows: Json[], over: Json = {}): string {
    return JSON.stringify({
      manifest: toJson(UpdateManifestSchema, manifest),
      windows,
      healthPolicy: {
        deadlineSeconds: 5,
        checks: [{ name: 'true', command: ['/bin/true'], required: true, timeoutSeconds: 5 }],
      },
      retry: 0,
      ...over,
    });
  }
  const openNow = (minutes: number) => ({
    timeZone: 'UTC',
    single: { start: localUtc(Date.now() - 2 * MINUTE), end: localUtc(Date.now() + minutes * MINUTE) },
  });

  beforeAll(async () => {
    desiredKv = await new Kvm(nc).open(KV_DESIRED);
    statusKv = await new Kvm(nc).open(KV_STATUS);
  });

  it('(1) a window open now: download, install, reboot, health passes, COMMITTED on slot b', async () => {
    const node = await startNode('commit');
    const url = http.serve('/commit.img', { body: image.raw });
    await desiredKv.put(
      `${node.nodeId}.update`,
      desired(manifestFor('2.0.0', url, image, keys.privateKey), [openNow(180)]),
    );
    await node.afterReboot();
    const status = await node.stateIs('COMMITTED');
    expect(status).toMatchObject({ version: '2.0.0', updateState: 'UPDATE_STATE_COMMITTED' });
    const device = await node.device();
    expect((await device.slots()).active.slot).toBe('b');
    expect(await device.bootLoader().defaultPattern()).toBe('outpost-b.conf');
    const { body } = await node.request('orchestrator', 'history');
    expect(body.runs).toEqual([
      expect.objectContaining({
        version: '2.0.0',
        result: 'ORCHESTRATION_STATE_COMMITTED',
        reason: expect.stringMatching(/health trial passed/),
      }),
    ]);
  });

  it('(1b) set outside a window: downloads now, installs when the window opens, bootctl agrees', async () => {
    const clock = new ShiftedClock();
    const node = await startNode('later', clock);
    // A window an hour from now (on a whole minute: windows are minute-precise).
    const opens = Math.ceil((clock.now() + 60 * MINUTE) / MINUTE) * MINUTE;
    const url = http.serve('/later.img', { body: image.raw });
    await desiredKv.put(
      `${node.nodeId}.update`,
      desired(manifestFor('3.0.0', url, image, keys.privateKey), [
        { timeZone: 'UTC', single: { start: localUtc(opens), end: localUtc(opens + 180 * MINUTE) } },
      ]),
    );
    const waiting = await node.stateIs('WAITING_WINDOW');
    expect(waiting.updateState).toBe('UPDATE_STATE_DOWNLOADED'); // the download did not wait for the window
    expect(clock.now()).toBeLessThan(opens);
    expect(await (await node.device()).bootRecord()).toMatchObject({ bootCount: 1, slot: 'a' });
    // The window opens: the clock steps to it (as time would), the waiting run installs and reboots.
    clock.shift(opens - clock.now());
    await node.afterReboot();
    await node.stateIs('COMMITTED');
    const device = await node.device();
    expect((await device.slots()).active.slot).toBe('b');
    const listed = await bootctlList(device.espDir);
    expect(listed.find((e) => e.default)?.id).toBe('outpost-b.conf');
    expect(listed.find((e) => e.id === 'outpost-b.conf')?.tries).toBeUndefined(); // blessed
  });

  it('(1c) waiting for a window tomorrow, the operator moves the window to now: the same run installs', async () => {
    const node = await startNode('moved');
    const url = http.serve('/moved.img', { body: image.raw });
    const tomorrow = Date.now() + 24 * 60 * MINUTE;
    const manifest = manifestFor('3.1.0', url, image, keys.privateKey);
    await desiredKv.put(
      `${node.nodeId}.update`,
      desired(manifest, [
        { timeZone: 'UTC', single: { start: localUtc(tomorrow), end: localUtc(tomorrow + 60 * MINUTE) } },
      ]),
    );
    await node.stateIs('WAITING_WINDOW');
    // Same version and retry, only the windows differ: no new run, no second download.
    await desiredKv.put(`${node.nodeId}.update`, desired(manifest, [openNow(180)]));
    await node.afterReboot();
    await node.stateIs('COMMITTED');
    const { body } = await node.request('orchestrator', 'history');
    expect(body.runs).toEqual([
      expect.objectContaining({ version: '3.1.0', result: 'ORCHESTRATION_STATE_COMMITTED' }),
    ]);
    expect(http.requestsFor('/moved.img')).toHaveLength(1);
  });

  it('(2) a required agent never READY after the reboot: ROLLED_BACK to slot a', async () => {
    const node = await startNode('rollback');
    const url = http.serve('/rollback.img', { body: image.raw });
    await desiredKv.put(
      `${node.nodeId}.update`,
      desired(manifestFor('2.1.0', url, image, keys.privateKey), [openNow(180)]),
    );
    // The new slot boots, but the node never gets healthy: hardware is required and not running.
    await node.afterReboot({ OUTPOST_NODE_REQUIRED_AGENTS: `${HEALTHY_AGENTS},hardware` });
    await node.stateIs('ROLLING_BACK');
    await node.afterReboot();
    const status = await node.stateIs('ROLLED_BACK');
    expect(String(status.detail)).toMatch(/health trial failed.*hardware/);
    const device = await node.device();
    expect((await device.slots()).active.slot).toBe('a');
    const update = await node.request('update', 'status');
    expect(update.body).toMatchObject({ state: 'UPDATE_STATE_ROLLED_BACK', reason: 'FAILURE_REASON_HEALTH' });
    // Not retried while the desired state stays the same.
    await node.suite?.stop('check no retry');
    await node.start();
    expect((await node.stateIs('ROLLED_BACK')).version).toBe('2.1.0');
    const { body } = await node.request('orchestrator', 'history');
    expect(body.runs).toHaveLength(1);
    // Bumping retry starts a new run of the same version.
    const tomorrow = Date.now() + 24 * 60 * MINUTE;
    const later = {
      timeZone: 'UTC',
      single: { start: localUtc(tomorrow), end: localUtc(tomorrow + 120 * MINUTE) },
    };
    await desiredKv.put(
      `${node.nodeId}.update`,
      desired(manifestFor('2.1.0', url, image, keys.privateKey), [later], { retry: 1 }),
    );
    expect(await node.stateIs('WAITING_WINDOW')).toMatchObject({ version: '2.1.0', retry: 1 });
  });

  it('(3) the previous slot is unhealthy too after the rollback: HALTED, no second fallback', async () => {
    const node = await startNode('halt');
    const url = http.serve('/halt.img', { body: image.raw });
    await desiredKv.put(
      `${node.nodeId}.update`,
      desired(manifestFor('2.4.0', url, image, keys.privateKey), [openNow(180)]),
    );
    const broken = { OUTPOST_NODE_REQUIRED_AGENTS: `${HEALTHY_AGENTS},hardware` };
    await node.afterReboot(broken);
    await node.stateIs('ROLLING_BACK');
    await node.afterReboot(broken);
    const status = await node.stateIs('HALTED');
    expect(String(status.detail)).toMatch(/previous slot is unhealthy too/);
    expect((await (await node.device()).slots()).active.slot).toBe('a');
    const { body } = await node.request('orchestrator', 'history');
    expect(body.runs).toEqual([expect.objectContaining({ result: 'ORCHESTRATION_STATE_HALTED' })]);
  });

  it('(4) the new slot does not boot: the loader falls back, ROLLED_BACK on the next start', async () => {
    const node = await startNode('fallback');
    await (await node.device()).setSlotBootable('b', false);
    const url = http.serve('/fallback.img', { body: image.raw });
    await desiredKv.put(
      `${node.nodeId}.update`,
      desired(manifestFor('2.2.0', url, image, keys.privateKey), [openNow(180)]),
    );
    await node.afterReboot();
    const status = await node.stateIs('ROLLED_BACK');
    expect(String(status.detail)).toMatch(/did not boot.*BOOT_FALLBACK/);
    expect((await (await node.device()).slots()).active.slot).toBe('a');
  });

  it('(5) a window too short for the update: waits for the next one; a bad desired state is rejected', async () => {
    const node = await startNode('short');
    const url = http.serve('/short.img', { body: image.raw });
    const tomorrow = Date.now() + 24 * 60 * MINUTE;
    const later = {
      timeZone: 'UTC',
      single: { start: localUtc(tomorrow), end: localUtc(tomorrow + 120 * MINUTE) },
    };
    await desiredKv.put(
      `${node.nodeId}.update`,
      desired(manifestFor('2.3.0', url, image, keys.privateKey), [openNow(10), later]),
    );
    // WAITING_WINDOW is entered with a generic detail; the window decision follows in the next step.
    const status = await eventually(async () => {
      const s = await node.stateIs('WAITING_WINDOW');
      expect(String(s.detail)).toMatch(/outside every maintenance window; next opens at/);
      return s;
    });
    expect(Date.parse(String((status.nextWindow as Json).start))).toBe(
      Date.parse(`${localUtc(tomorrow)}:00Z`),
    );
    const windows = await node.request('orchestrator', 'windows', '{"count":3}');
    expect(windows.body.open).toBeDefined();
    expect(windows.body.windows).toHaveLength(2);
    expect((await node.request('update', 'status')).body.state).toBe('UPDATE_STATE_DOWNLOADED');

    await desiredKv.put(`${node.nodeId}.update`, '{"manifest": {"version": "x"}, "windows": "nope"}');
    await eventually(async () => {
      const { body } = await node.request('orchestrator', 'status');
      expect(String(body.rejected)).toMatch(/rejected/);
      expect(body.state).toBe('ORCHESTRATION_STATE_WAITING_WINDOW');
    });
    const tooMany = await node.request('orchestrator', 'windows', '{"count":500}');
    expect(tooMany.code).toBe('422');
  });

  it('(6) a full rollout group waits for a lease, then updates and gives the lease back', async () => {
    const node = await startNode('lease');
    const key = 'rollout.canary.lease-0';
    await statusKv.put(
      key,
      JSON.stringify({ holder: 'other-node', version: '9', expiresAt: Date.now() + 3_600_000 }),
    );
    const url = http.serve('/lease.img', { body: image.raw });
    await desiredKv.put(
      `${node.nodeId}.update`,
      desired(manifestFor('2.5.0', url, image, keys.privateKey), [openNow(180)], {
        rolloutGroup: 'canary',
        maxParallel: 1,
      }),
    );
    await eventually(async () => {
      const status = await node.stateIs('WAITING_WINDOW');
      expect(String(status.detail)).toMatch(/rollout group canary is full \(1 of 1/);
    });
    expect((await node.request('update', 'status')).body.state).toBe('UPDATE_STATE_DOWNLOADED');
    await statusKv.delete(key);
    await node.afterReboot();
    await node.stateIs('COMMITTED');
    const entry = await statusKv.get(key);
    expect(entry?.operation).toBe('DEL');
  });

  it('(7) three nodes in one rollout group with N=1: never two updating at once, all commit', async () => {
    const nodes = await Promise.all(['fleet-a', 'fleet-b', 'fleet-c'].map((n) => startNode(n)));
    const busy = new Set<string>();
    let most = 0;
    const inFlight = ['INSTALLING', 'REBOOTING', 'VERIFYING', 'ROLLING_BACK'].map(
      (x) => `ORCHESTRATION_STATE_${x}`,
    );
    // Watch every node's orchestrator state events: at most one may be between install and verdict.
    const sub = nc.subscribe('edge.*.orchestrator.evt.state', {
      callback: (_e, m) => {
        const body = json(m) as { status?: { state?: string } };
        const node = m.subject.split('.')[1];
        if (inFlight.includes(String(body.status?.state))) busy.add(node);
        else busy.delete(node);
        most = Math.max(most, busy.size);
      },
    });
    const url = http.serve('/fleet.img', { body: image.raw });
    const manifest = manifestFor('5.0.0', url, image, keys.privateKey);
    for (const node of nodes) {
      await desiredKv.put(
        `${node.nodeId}.update`,
        desired(manifest, [openNow(180)], { rolloutGroup: 'fleet', maxParallel: 1 }),
      );
    }
    // Each node reboots in turn; restart its agents as the boot would, then wait for its verdict.
    await Promise.all(
      nodes.map(async (node) => {
        await node.afterReboot();
        await node.stateIs('COMMITTED');
      }),
    );
    sub.unsubscribe();
    expect(most).toBe(1);
    for (const node of nodes) expect((await (await node.device()).slots()).active.slot).toBe('b');
  });
});
