/**
 * A rollback whose reboot did not happen is finished on start (issue #12). The built update agent runs
 * as a real process on the simulator; OUTPOST_UPDATE_CRASH_AT makes it SIGKILL itself right after
 * ROLLED_BACK {rebootPending} is saved ('rollback') or after the reboot is counted ('rollback:reboot').
 * Restarted without the hook, it must reboot into the previous slot by itself, once; and a node that
 * cannot leave the bad slot is rebooted a bounded number of times, then reported, never looped.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { SimulatedDevice } from '@outpost/device';
import {
  bootctlList,
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import {
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

describe('a kill during rollback', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  const http = new ImageServer();
  const keys = makeKeys();
  const image = makeImage(2 * MiB + 77);
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

  /** A node whose update agent has booted slot b and is VERIFYING, killed by `cmd.rollback` at `step`. */
  async function killedDuringRollback(name: string, step: string, extra: NodeJS.ProcessEnv = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-update-rollback-'));
    dirs.push(dir);
    const nodeId = `rollback-${name}`;
    const env = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_NODE_ID: nodeId,
      OUTPOST_LOG_LEVEL: 'warn',
      OUTPOST_UPDATE_TRUSTED_KEYS: keys.publicBase64,
      ...extra,
    });
    const device = await SimulatedDevice.open(join(dir, 'device'));
    const slotA = async () => {
      const a = (await device.slots()).all.find((s) => s.slot === 'a');
      if (!a) throw new Error('no slot a');
      return hashRegion(a.path, a.offset, 8 * MiB);
    };
    const aBefore = await slotA();
    const start = (more: NodeJS.ProcessEnv = {}) => {
      const p = startUpdateAgentProcess({ ...env, ...more });
      procs.push(p);
      return p;
    };
    const raw = (verb: string, body = '{}') =>
      nc.request(`edge.${nodeId}.update.cmd.${verb}`, body, { timeout: 10_000 });
    const request = async (verb: string, body = '{}') =>
      JSON.parse(new TextDecoder().decode((await raw(verb, body)).data)) as Json;
    const stateIs = (state: string, more: Json = {}) =>
      eventually(async () => {
        const body = await request('status');
        expect(body).toMatchObject({ state: `UPDATE_STATE_${state}`, ...more });
        return body;
      });

    const first = start({ OUTPOST_UPDATE_CRASH_AT: step });
    await eventually(() => request('status'));
    const path = `/${name}.img`;
    await request(
      'download',
      downloadBody(manifestFor('2.0.0', http.serve(path, { body: image.raw }), image, keys.privateKey)),
    );
    await stateIs('DOWNLOADED');
    await request('install');
    await stateIs('INSTALLED');
    await request('reboot');
    await stateIs('VERIFYING', { activeSlot: 'b' });
    const bootsBefore = (await device.bootRecord()).bootCount;
    await raw('rollback', JSON.stringify({ reason: 'FAILURE_REASON_HEALTH', detail: 'check failed' })).catch(
      () => undefined, // the process dies before it answers
    );
    expect(await first.exited).toBe(137);
    expect(first.output()).toContain(`crashAt=${step}: SIGKILL now`);
    const saved = JSON.parse(await readFile(join(dir, 'state', 'update', 'state.json'), 'utf8')) as {
      data: Json;
    };
    expect(saved.data).toMatchObject({ state: 'ROLLED_BACK', rebootPending: true });
    expect((await device.bootRecord()).slot).toBe('b'); // still on the bad slot
    return {
      device,
      start,
      request,
      raw,
      stateIs,
      slotA,
      aBefore,
      bootsBefore,
      output: () => first.output(),
    };
  }

  it.each(['rollback', 'rollback:reboot'])(
    'killed at %s: the restarted agent reboots into slot a once, by itself',
    async (step) => {
      const n = await killedDuringRollback(step.replace(':', '-'), step);
      n.start();
      const status = await n.stateIs('ROLLED_BACK', { activeSlot: 'a', reason: 'FAILURE_REASON_HEALTH' });
      expect(status.targetSlot).toBe('b');
      const record = await n.device.bootRecord();
      expect(record.slot).toBe('a');
      expect(record.bootCount).toBe(n.bootsBefore + 1); // exactly one reboot, not one per start
      const loader = n.device.bootLoader();
      expect((await loader.find('outpost-b.conf'))?.triesLeft).toBe(0);
      expect(await loader.defaultPattern()).toBe('outpost-a.conf');
      expect(await loader.oneShot()).toBeUndefined();
      expect(await n.slotA()).toBe(n.aBefore);
      // A rollback request resent by someone who saw an older status answers the finished rollback.
      expect(await n.request('rollback', '{}')).toMatchObject({
        state: 'UPDATE_STATE_ROLLED_BACK',
        activeSlot: 'a',
      });
      expect((await n.device.bootRecord()).bootCount).toBe(n.bootsBefore + 1);
      const listed = await bootctlList(n.device.espDir);
      expect(listed.find((e) => e.default)?.id).toBe('outpost-a.conf');
      expect(listed.find((e) => e.id === 'outpost-b.conf')?.tries).toBe(0);
      // Settled: a new update may start again (it would write slot b, not the running a).
      await eventually(async () => {
        const saved = JSON.parse(
          await readFile(join(n.device.dir, '..', 'state', 'update', 'state.json'), 'utf8'),
        ) as { data: Json };
        expect(saved.data.rebootPending).toBe(false);
      });
    },
  );

  it('a node that cannot leave the bad slot is rebooted a bounded number of times, then reported', async () => {
    const n = await killedDuringRollback('stuck', 'rollback', { OUTPOST_UPDATE_MAX_ROLLBACK_REBOOTS: '2' });
    // Slot a's entry is gone: systemd-boot has only b left, out of tries but still bootable.
    await n.device.bootLoader().remove('outpost-a.conf');
    const agent = n.start();
    await eventually(() => expect(agent.output()).toContain('rollback of 2.0.0 stuck'));
    const record = await n.device.bootRecord();
    expect(record.slot).toBe('b');
    expect(record.bootCount).toBe(n.bootsBefore + 2);
    // It stays up, says why, and refuses what would make it worse.
    const status = await n.stateIs('ROLLED_BACK', { activeSlot: 'b' });
    expect(String(status.detail)).toContain('check failed');
    const again = await n.raw('rollback', '{}');
    expect(again.headers?.get('Nats-Service-Error-Code')).toBe('409');
    expect(new TextDecoder().decode(again.data)).toContain('stuck: still on slot b after 2 reboot(s)');
    const download = await n.raw(
      'download',
      downloadBody(
        manifestFor('3.0.0', http.serve('/stuck-3.img', { body: image.raw }), image, keys.privateKey),
      ),
    );
    expect(download.headers?.get('Nats-Service-Error-Code')).toBe('409');
    expect(new TextDecoder().decode(download.data)).toContain('has not rebooted yet');
    expect((await n.device.bootRecord()).bootCount).toBe(n.bootsBefore + 2);
    expect(await n.slotA()).toBe(n.aBefore);
  });
});
