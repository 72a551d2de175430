/**
 * kill -9 at every step: the built agent runs as a real process with OUTPOST_UPDATE_CRASH_AT=<step>,
 * which makes it SIGKILL itself exactly there. It is restarted without the hook and must resume or
 * fail cleanly: the active slot is never touched, no entry can boot an unverified slot, and driving
 * the update on ends COMMITTED with the right bytes in the new slot. Needs the build (npm test builds).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { SimulatedDevice } from '@outpost/device';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import {
  bootFilesFor,
  downloadBody,
  ImageServer,
  makeImage,
  makeKeys,
  manifestFor,
  startUpdateAgentProcess,
  type AgentProcess,
} from '../test/fixtures.js';
import { hashRegion } from './image/slot-writer.js';

type Json = Record<string, unknown>;
const MiB = 1024 * 1024;

/** Where the crash happens, the commands that lead there, and what the first restart must show. */
const STEPS: [step: string, upTo: 'download' | 'install' | 'reboot' | 'commit', afterRestart: string][] = [
  ['download:start', 'download', 'DOWNLOADED'],
  ['download:partial', 'download', 'DOWNLOADED'],
  ['download:staged', 'download', 'DOWNLOADED'],
  ['download:boot', 'download', 'DOWNLOADED'],
  ['install:invalidate', 'install', 'INSTALLED'],
  ['install:write', 'install', 'INSTALLED'],
  ['install:verify', 'install', 'INSTALLED'],
  // After the kernel reached the ESP under its temporary name, before it is renamed into place.
  ['install:boot', 'install', 'INSTALLED'],
  ['install:entry', 'install', 'INSTALLED'],
  ['install:oneshot', 'install', 'INSTALLED'],
  ['installed', 'install', 'INSTALLED'],
  ['reboot', 'reboot', 'INSTALLED'],
  ['commit', 'commit', 'COMMITTED'],
];

describe('kill -9 at each step of an update', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  const http = new ImageServer();
  const keys = makeKeys();
  const image = makeImage(4 * MiB + 4321);
  const kernel = makeImage(256 * 1024 + 17);
  const initrd = makeImage(512 * 1024 + 5);
  const procs: AgentProcess[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectTo(nats);
    await http.start();
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    await http.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function node(name: string, extra: NodeJS.ProcessEnv = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-update-crash-'));
    dirs.push(dir);
    const nodeId = `crash-${name.replace(/[^a-z]/g, '-')}`;
    const env = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_NODE_ID: nodeId,
      OUTPOST_LOG_LEVEL: 'warn',
      OUTPOST_UPDATE_TRUSTED_KEYS: keys.publicBase64,
      ...extra,
    });
    const device = await SimulatedDevice.open(join(dir, 'device'));
    const slotHash = async (slot: string, bytes: number) => {
      const t = (await device.slots()).all.find((s) => s.slot === slot);
      if (!t) throw new Error(`no slot ${slot}`);
      return hashRegion(t.path, t.offset, bytes);
    };
    const start = (more: NodeJS.ProcessEnv = {}) => {
      const p = startUpdateAgentProcess({ ...env, ...more });
      procs.push(p);
      return p;
    };
    const request = async (verb: string, body = '{}', timeout = 10_000) => {
      const msg = await nc.request(`edge.${nodeId}.update.cmd.${verb}`, body, { timeout });
      return JSON.parse(new TextDecoder().decode(msg.data)) as Json;
    };
    const stateIs = (state: string) =>
      eventually(async () => {
        const body = await request('status');
        expect(body.state).toBe(`UPDATE_STATE_${state}`);
        return body;
      });
    return { device, slotHash, start, request, stateIs };
  }

  it.each(STEPS)(
    'killed at %s (reached by %s), it restarts to %s and the update completes',
    async (step, upTo, afterRestart) => {
      const n = await node(step);
      await n.device.slots(); // make the disk image before reading the active slot
      const activeBefore = await n.slotHash('a', 8 * MiB);
      const path = `/${step.replace(':', '-')}.img`;
      http.serve(`/${step.replace(':', '-')}.vmlinuz`, { body: kernel.raw });
      http.serve(`/${step.replace(':', '-')}.initrd`, { body: initrd.raw });
      const manifest = manifestFor('2.0.0', http.serve(path, { body: image.raw }), image, keys.privateKey, {
        bootFiles: bootFilesFor(
          { url: `${step.replace(':', '-')}.vmlinuz`, file: kernel },
          { url: `${step.replace(':', '-')}.initrd`, file: initrd },
        ),
      });
      const esp = n.device.espDir;
      const runningKernel = await readFile(join(esp, 'outpost/a/vmlinuz'));

      // 1. Run with the hook until the agent kills itself at `step`.
      const first = n.start({ OUTPOST_UPDATE_CRASH_AT: step });
      const drive = (async () => {
        await eventually(() => n.request('status'));
        await n.request('download', downloadBody(manifest), 2_000);
        if (upTo === 'download') return;
        await n.stateIs('DOWNLOADED');
        await n.request('install', '{}', 2_000);
        if (upTo === 'install') return;
        await n.stateIs('INSTALLED');
        await n.request('reboot', '{}', 2_000);
        if (upTo === 'reboot') return;
        await n.stateIs('VERIFYING');
        await n.request('commit', '{}', 2_000);
      })().catch(() => undefined); // requests to a process that just died time out: expected
      expect(await first.exited).toBe(137);
      await drive;
      expect(first.output()).toContain(`crashAt=${step}: SIGKILL now`);

      // 2. Whatever was left behind: the active slot is untouched, and an entry that can boot slot b
      //    exists only if slot b holds the verified image.
      expect(await n.slotHash('a', 8 * MiB)).toBe(activeBefore);
      const loader = n.device.bootLoader();
      const b = await loader.find('outpost-b.conf');
      if (b && b.triesLeft !== 0) {
        expect(await n.slotHash('b', image.raw.length)).toBe(image.sha256);
        // ... and its boot files are whole: an entry is written only after them.
        expect(await readFile(join(esp, 'outpost/b/vmlinuz'))).toEqual(kernel.raw);
        expect(await readFile(join(esp, 'outpost/b/initrd.img'))).toEqual(initrd.raw);
      }
      expect((await loader.find('outpost-a.conf'))?.fileName).toBe('outpost-a.conf');
      expect(await readFile(join(esp, 'outpost/a/vmlinuz'))).toEqual(runningKernel);

      // 3. Restart without the hook: it resumes (or settles) by itself.
      const requestsBefore = http.requestsFor(path).length;
      n.start();
      await n.stateIs(afterRestart);
      if (step === 'download:partial') {
        const resumed = http.requestsFor(path).slice(requestsBefore);
        expect(resumed.length).toBeGreaterThan(0);
        expect(resumed.every((r) => /^bytes=[1-9]\d*-$/.test(r.range ?? ''))).toBe(true);
      }
      if (step === 'download:staged') expect(http.requestsFor(path).length).toBe(requestsBefore);

      // 4. Drive it to the end: COMMITTED, the right bytes in slot b, its entry blessed and default.
      if (afterRestart === 'DOWNLOADED') {
        await n.request('install');
        await n.stateIs('INSTALLED');
      }
      if (afterRestart !== 'COMMITTED') {
        expect(await loader.oneShot()).toBe('outpost-b.conf');
        expect((await loader.find('outpost-b.conf'))?.fileName).toBe('outpost-b+3.conf');
        await n.request('reboot');
        expect(await n.stateIs('VERIFYING')).toMatchObject({ activeSlot: 'b' });
        await n.request('commit');
      }
      await n.stateIs('COMMITTED');
      expect(await n.slotHash('b', image.raw.length)).toBe(image.sha256);
      expect(await readFile(join(esp, 'outpost/b/vmlinuz'))).toEqual(kernel.raw);
      expect(await readFile(join(esp, 'outpost/b/initrd.img'))).toEqual(initrd.raw);
      expect(await readdir(join(esp, 'outpost/b'))).toEqual(['initrd.img', 'vmlinuz']); // no temporary left
      expect(await readFile(join(esp, 'outpost/a/vmlinuz'))).toEqual(runningKernel);
      expect((await loader.find('outpost-b.conf'))?.initrd).toBe('/outpost/b/initrd.img');
      expect((await loader.find('outpost-b.conf'))?.fileName).toBe('outpost-b.conf');
      expect(await loader.defaultPattern()).toBe('outpost-b.conf');
      expect(await n.device.bootRecord()).toMatchObject({ slot: 'b' });
      expect(await n.slotHash('a', 8 * MiB)).toBe(activeBefore);
    },
  );

  it('fails as a restart loop when every start dies in the same step, leaving slot b unbootable', async () => {
    const n = await node('loop', { OUTPOST_UPDATE_MAX_STARTS: '2' });
    await n.device.slots();
    const activeBefore = await n.slotHash('a', 8 * MiB);
    const manifest = manifestFor(
      '2.0.0',
      http.serve('/loop.img', { body: image.raw }),
      image,
      keys.privateKey,
    );
    const first = n.start();
    await eventually(() => n.request('status'));
    await n.request('download', downloadBody(manifest));
    await n.stateIs('DOWNLOADED');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // From now on every start dies in the middle of writing slot b.
    const crashing = n.start({ OUTPOST_UPDATE_CRASH_AT: 'install:write' });
    await eventually(() => n.request('status'));
    await n.request('install').catch(() => undefined);
    expect(await crashing.exited).toBe(137);
    for (let i = 0; i < 2; i++)
      expect(await n.start({ OUTPOST_UPDATE_CRASH_AT: 'install:write' }).exited).toBe(137);
    n.start({ OUTPOST_UPDATE_CRASH_AT: 'install:write' });
    const status = await n.stateIs('FAILED');
    expect(status).toMatchObject({ reason: 'FAILURE_REASON_RESTART_LOOP' });
    expect(await n.slotHash('a', 8 * MiB)).toBe(activeBefore);
    expect((await n.device.bootLoader().entries()).map((e) => e.fileName)).toEqual(['outpost-a.conf']);
    expect(await n.device.bootLoader().oneShot()).toBeUndefined();
  });
});
