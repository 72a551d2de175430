/**
 * The update agent on a real nats-server and a SimulatedDevice (a real GPT disk image and ESP),
 * downloading real images from a local HTTP server, driven by plain NATS requests: refusals before
 * any byte is fetched, a corrupted image, a cut connection resumed with Range, the full cycle
 * download -> install -> reboot -> VERIFYING -> commit, a rollback, and a silent boot-loader fallback.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { JsonLogger, startSuite, type RunningSuite } from '@outpost/agent-runtime';
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
  type TestImage,
} from '../test/fixtures.js';
import { hashRegion } from './image/slot-writer.js';
import { UpdateAgent } from './update.agent.js';

type Json = Record<string, unknown>;
const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data)) as Json;
const MiB = 1024 * 1024;

describe('update agent on a real bus and a simulated device', () => {
  let nats: NatsServerHandle;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let suite: RunningSuite;
  let nc: NatsConnection;
  let nodeId: string;
  let device: SimulatedDevice;
  const http = new ImageServer();
  const keys = makeKeys();
  const stranger = makeKeys();
  const events: { subject: string; body: Json }[] = [];
  let image: TestImage;
  let activeBefore: string;

  const start = async () => {
    suite = await startSuite([UpdateAgent], { env, logger: new JsonLogger({ agent: 'update' }, 'error') });
    nodeId = suite.nodeId;
  };
  const request = async (verb: string, body = '{}') => {
    const msg = await nc.request(`edge.${nodeId}.update.cmd.${verb}`, body, { timeout: 10_000 });
    return { msg, body: json(msg), code: msg.headers?.get('Nats-Service-Error-Code') };
  };
  const stateIs = async (state: string) =>
    eventually(async () => {
      const { body } = await request('status');
      expect(body.state).toBe(`UPDATE_STATE_${state}`);
      return body;
    });
  const slotHash = async (slot: 'a' | 'b', bytes: number) => {
    const target = (await device.slots()).all.find((s) => s.slot === slot);
    if (!target) throw new Error(`no slot ${slot}`);
    return hashRegion(target.path, target.offset, bytes);
  };
  /** The simulated machine rebooted (the agent asked the device): restart the agent as the boot would. */
  const restartAfterReboot = async () => {
    await suite.stop('simulated reboot');
    await start();
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    await http.start();
    dir = await mkdtemp(join(tmpdir(), 'outpost-update-'));
    env = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_UPDATE_TRUSTED_KEYS: keys.publicBase64,
      OUTPOST_UPDATE_PROGRESS_INTERVAL_MS: '10',
    });
    await start();
    device = await SimulatedDevice.open(join(dir, 'device'));
    nc = await connectTo(nats);
    nc.subscribe(`edge.${nodeId}.update.evt.>`, {
      callback: (_e, m) => void events.push({ subject: m.subject, body: json(m) }),
    });
    image = makeImage(3 * MiB + 12345);
    activeBefore = await slotHash('a', 8 * MiB);
  });

  afterAll(async () => {
    await suite?.stop('test done');
    await nc?.close();
    await nats?.stop();
    await http.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts IDLE on slot a, UP_TO_DATE in OEP terms', async () => {
    const { body } = await request('status');
    expect(body).toMatchObject({
      state: 'UPDATE_STATE_IDLE',
      oepStatus: 'OEP_STATUS_UP_TO_DATE',
      activeSlot: 'a',
    });
  });

  it.each([
    ['unsigned', () => manifestFor('1.0.0', http.serve('/unsigned.img', { body: image.raw }), image)],
    [
      'signed by an unknown key',
      () =>
        manifestFor('1.0.0', http.serve('/stranger.img', { body: image.raw }), image, stranger.privateKey),
    ],
    [
      'tampered after signing',
      () => ({
        ...manifestFor('1.0.0', http.serve('/tampered.img', { body: image.raw }), image, keys.privateKey),
        version: '9.9.9',
      }),
    ],
  ])('refuses a manifest %s before a byte is downloaded', async (_name, make) => {
    const manifest = make();
    const path = new URL(manifest.imageUrl).pathname;
    const { code, body } = await request('download', downloadBody(manifest));
    expect(code).toBe('403');
    expect(body).toMatchObject({ code: 'ERROR_CODE_PERMISSION_DENIED' });
    expect(String(body.message)).toMatch(/manifest refused/);
    const status = await stateIs('FAILED');
    expect(status.reason).toBe('FAILURE_REASON_SIGNATURE');
    expect(http.requestsFor(path)).toEqual([]);
  });

  it.each([
    ['a malformed sha256', { sha256: 'XYZ' }, '422', 'ERROR_CODE_INVALID_ARGUMENT', /sha256/],
    [
      'an image larger than the slot',
      { size: 65n * BigInt(MiB) },
      '422',
      'ERROR_CODE_INVALID_ARGUMENT',
      /larger than slot b/,
    ],
  ])('refuses %s with a typed error naming it', async (_name, over, code, errorCode, message) => {
    const manifest = manifestFor(
      '1.0.0',
      http.serve('/x.img', { body: image.raw }),
      image,
      keys.privateKey,
      over,
    );
    const reply = await request('download', downloadBody(manifest));
    expect(reply.code).toBe(code);
    expect(reply.body).toMatchObject({ code: errorCode });
    expect(String(reply.body.message)).toMatch(message);
    expect(http.requestsFor('/x.img')).toEqual([]);
  });

  it('decodes an .xz image in the stream and verifies it', async () => {
    const manifest = manifestFor(
      '1.0.0',
      http.serve('/os.img.xz', { body: image.xz }),
      image,
      keys.privateKey,
    );
    expect((await request('download', downloadBody(manifest))).code).toBeUndefined();
    expect((await stateIs('DOWNLOADED')).state).toBe('UPDATE_STATE_DOWNLOADED');
    expect(http.requestsFor('/os.img.xz').length).toBeGreaterThan(0);
    expect((await request('abort')).code).toBeUndefined();
  });

  it('fails a corrupt .xz stream on its checksum', async () => {
    const corrupt = Buffer.from(image.xz);
    corrupt[corrupt.length >> 1] ^= 0xff;
    const manifest = manifestFor(
      '1.0.0',
      http.serve('/bad.img.xz', { body: corrupt }),
      image,
      keys.privateKey,
    );
    await request('download', downloadBody(manifest));
    expect((await stateIs('FAILED')).reason).toBe('FAILURE_REASON_CHECKSUM');
  });

  it('answers bad requests with typed errors', async () => {
    expect((await request('download', '{"manifest":')).code).toBe('400');
    expect((await request('download', '{}')).code).toBe('422');
    const install = await request('install');
    expect(install.code).toBe('409');
    expect(String(install.body.message)).toMatch(/needs a verified download/);
    expect((await request('commit')).code).toBe('409');
    expect((await request('reboot')).code).toBe('409');
  });

  it('fails a corrupted download on its checksum and leaves both slots and the ESP alone', async () => {
    const corrupt = Buffer.from(image.raw);
    corrupt[corrupt.length >> 1] ^= 0xff;
    const manifest = manifestFor(
      '1.0.0',
      http.serve('/corrupt.img', { body: corrupt }),
      image,
      keys.privateKey,
    );
    expect((await request('download', downloadBody(manifest))).body.state).toBe('UPDATE_STATE_DOWNLOADING');
    const status = await stateIs('FAILED');
    expect(status.reason).toBe('FAILURE_REASON_CHECKSUM');
    expect(String(status.detail)).toMatch(/hashes/);
    expect(await slotHash('a', 8 * MiB)).toBe(activeBefore);
    expect((await device.bootLoader().entries()).map((e) => e.fileName)).toEqual(['outpost-a.conf']);
  });

  it('resumes a download cut mid-way with a Range request, reporting progress', async () => {
    const cutAt = 1 * MiB + 777;
    const url = http.serve('/os-1.1.0.img', { body: image.raw, cutAt, cuts: 1 });
    const manifest = manifestFor('1.1.0', url, image, keys.privateKey, { releaseNotes: 'first update' });
    await request('download', downloadBody(manifest));
    const status = await stateIs('DOWNLOADED');
    expect(status).toMatchObject({ version: '1.1.0', oepStatus: 'OEP_STATUS_DOWNLOADED', targetSlot: 'b' });
    const requests = http.requestsFor('/os-1.1.0.img');
    expect(requests[0].range).toBeUndefined();
    expect(requests.slice(1).some((r) => /^bytes=\d+-$/.test(r.range ?? '') && r.range !== 'bytes=0-')).toBe(
      true,
    );
    const progress = events.filter((e) => e.subject.endsWith('.evt.progress')).map((e) => e.body);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({
      version: '1.1.0',
      phase: 'download',
      bytes: String(image.raw.length),
    });
    expect(typeof progress[0].rate).toBe('number');
    // A resent download of the same manifest changes nothing (at-least-once delivery).
    expect((await request('download', downloadBody(manifest))).body.state).toBe('UPDATE_STATE_DOWNLOADED');
  });

  it('installs into the inactive slot only, with a counted entry as the one-shot next boot', async () => {
    expect((await request('install')).body.state).toBe('UPDATE_STATE_INSTALLING');
    const status = await stateIs('INSTALLED');
    expect(status).toMatchObject({ oepStatus: 'OEP_STATUS_STARTED', entryId: 'outpost-b.conf' });
    expect(await slotHash('b', image.raw.length)).toBe(image.sha256);
    expect(await slotHash('a', 8 * MiB)).toBe(activeBefore);
    const loader = device.bootLoader();
    expect((await loader.find('outpost-b.conf'))?.fileName).toBe('outpost-b+3.conf');
    expect((await loader.find('outpost-b.conf'))?.options).toBe('root=PARTLABEL=rootfs_b rw');
    expect((await loader.find('outpost-a.conf'))?.fileName).toBe('outpost-a.conf');
    expect(await loader.oneShot()).toBe('outpost-b.conf');
    expect(await loader.defaultPattern()).toBe('outpost-a.conf');
  });

  it('reboots into the new slot and waits in VERIFYING, the entry counting its tries', async () => {
    expect((await request('reboot')).body.state).toBe('UPDATE_STATE_REBOOTING');
    expect(await device.bootRecord()).toMatchObject({ slot: 'b', entryId: 'outpost-b.conf' });
    await restartAfterReboot();
    const status = await stateIs('VERIFYING');
    expect(status).toMatchObject({ activeSlot: 'b', targetSlot: 'b' });
    expect((await device.bootLoader().find('outpost-b.conf'))?.fileName).toBe('outpost-b+2-1.conf');
  });

  it('commits: the entry is blessed and becomes the default', async () => {
    const { body } = await request('commit');
    expect(body).toMatchObject({ state: 'UPDATE_STATE_COMMITTED', oepStatus: 'OEP_STATUS_UPDATED' });
    const loader = device.bootLoader();
    expect((await loader.find('outpost-b.conf'))?.fileName).toBe('outpost-b.conf');
    expect(await loader.defaultPattern()).toBe('outpost-b.conf');
    expect((await request('commit')).body.state).toBe('UPDATE_STATE_COMMITTED');
    const states = events.filter((e) => e.subject.endsWith('.evt.state')).map((e) => e.body);
    expect(states.map((s) => `${s.from}>${(s.status as Json).state}`).slice(-5)).toEqual([
      'UPDATE_STATE_DOWNLOADED>UPDATE_STATE_INSTALLING',
      'UPDATE_STATE_INSTALLING>UPDATE_STATE_INSTALLED',
      'UPDATE_STATE_INSTALLED>UPDATE_STATE_REBOOTING',
      'UPDATE_STATE_REBOOTING>UPDATE_STATE_VERIFYING',
      'UPDATE_STATE_VERIFYING>UPDATE_STATE_COMMITTED',
    ]);
    // The latest status is mirrored in KV edge_status for `nats kv get`.
    const kv = await new Kvm(nc).open('edge_status');
    await eventually(async () => {
      const entry = await kv.get(`${nodeId}.update.state`);
      expect(entry?.json<{ state: string }>().state).toBe('UPDATE_STATE_COMMITTED');
    });
  });

  it('rolls a .gz update back: the new entry is marked bad and the node reboots into the previous slot', async () => {
    const next = makeImage(2 * MiB + 1);
    const url = http.serve('/os-1.2.0.img.gz', { body: next.gz });
    await request('download', downloadBody(manifestFor('1.2.0', url, next, keys.privateKey)));
    expect(await stateIs('DOWNLOADED')).toMatchObject({ targetSlot: 'a' });
    await request('install');
    await stateIs('INSTALLED');
    expect(await slotHash('a', next.raw.length)).toBe(next.sha256);
    expect(await slotHash('b', image.raw.length)).toBe(image.sha256); // the running slot is untouched
    await request('reboot');
    await restartAfterReboot();
    await stateIs('VERIFYING');
    const { body } = await request(
      'rollback',
      '{"reason":"FAILURE_REASON_HEALTH","detail":"node unhealthy"}',
    );
    expect(body).toMatchObject({ state: 'UPDATE_STATE_ROLLED_BACK', reason: 'FAILURE_REASON_HEALTH' });
    expect(await device.bootRecord()).toMatchObject({ slot: 'b', entryId: 'outpost-b.conf' });
    expect((await device.bootLoader().find('outpost-a.conf'))?.triesLeft).toBe(0);
    await restartAfterReboot();
    expect(await stateIs('ROLLED_BACK')).toMatchObject({ activeSlot: 'b', oepStatus: 'OEP_STATUS_FAILED' });
  });

  it('detects a silent fallback of the boot loader: ROLLED_BACK, never success', async () => {
    const next = makeImage(1 * MiB);
    const url = http.serve('/os-1.3.0.img', { body: next.raw });
    await request('download', downloadBody(manifestFor('1.3.0', url, next, keys.privateKey)));
    await stateIs('DOWNLOADED');
    await request('install');
    await stateIs('INSTALLED');
    await request('reboot');
    await restartAfterReboot();
    await stateIs('VERIFYING');
    // The new system reboots by itself before anyone commits (a watchdog, a crash): not blessed, so
    // systemd-boot takes the default, the old slot.
    await device.reboot('watchdog');
    await restartAfterReboot();
    const status = await stateIs('ROLLED_BACK');
    expect(status).toMatchObject({ reason: 'FAILURE_REASON_BOOT_FALLBACK', activeSlot: 'b' });
    expect(String(status.detail)).toMatch(/expected slot a, booted b/);
    expect((await device.bootLoader().find('outpost-a.conf'))?.triesLeft).toBe(0);
    expect((await request('commit')).code).toBe('409');
  });

  it('aborts a staged download and discards it', async () => {
    const next = makeImage(1 * MiB);
    const url = http.serve('/os-1.4.0.img', { body: next.raw });
    await request('download', downloadBody(manifestFor('1.4.0', url, next, keys.privateKey)));
    await stateIs('DOWNLOADED');
    const { body } = await request('abort');
    expect(body).toMatchObject({ state: 'UPDATE_STATE_FAILED', reason: 'FAILURE_REASON_ABORTED' });
    expect((await request('abort')).body.state).toBe('UPDATE_STATE_FAILED');
    expect((await request('install')).code).toBe('409');
  });

  it("puts the boot files on the ESP under the target slot's own names, never the running slot's", async () => {
    const esp = device.espDir;
    const runningKernel = await readFile(join(esp, 'outpost/b/vmlinuz'));
    const next = makeImage(1 * MiB + 3);
    const kernel = makeImage(300_000);
    const initrd = makeImage(700_001);
    const url = http.serve('/rel/os-1.5.0.img', { body: next.raw });
    http.serve('/rel/vmlinuz-1.5.0', { body: kernel.raw });
    http.serve('/boot/initrd-1.5.0.img.gz', { body: initrd.gz });
    const manifest = manifestFor('1.5.0', url, next, keys.privateKey, {
      // One relative to the image URL, one absolute and compressed.
      bootFiles: bootFilesFor(
        { url: 'vmlinuz-1.5.0', file: kernel },
        { url: `${http.url}/boot/initrd-1.5.0.img.gz`, file: initrd },
      ),
    });
    await request('download', downloadBody(manifest));
    expect(await stateIs('DOWNLOADED')).toMatchObject({ targetSlot: 'a', activeSlot: 'b' });
    expect(http.requestsFor('/rel/vmlinuz-1.5.0').length).toBe(1);
    await request('install');
    await stateIs('INSTALLED');
    expect(await readFile(join(esp, 'outpost/a/vmlinuz'))).toEqual(kernel.raw);
    expect(await readFile(join(esp, 'outpost/a/initrd.img'))).toEqual(initrd.raw);
    expect(await readFile(join(esp, 'outpost/b/vmlinuz'))).toEqual(runningKernel);
    expect(await readdir(join(esp, 'outpost/a'))).toEqual(['initrd.img', 'vmlinuz']); // no temporary left
    const entry = await device.bootLoader().find('outpost-a.conf');
    expect(entry).toMatchObject({
      fileName: 'outpost-a+3.conf',
      linux: '/outpost/a/vmlinuz',
      initrd: '/outpost/a/initrd.img',
    });
    await request('reboot');
    await restartAfterReboot();
    await stateIs('VERIFYING');
    await request('commit');
    expect(await stateIs('COMMITTED')).toMatchObject({ activeSlot: 'a' });
  });

  it('fails a boot file that does not match its manifest entry, before the ESP is written', async () => {
    const esp = device.espDir;
    const before = await readFile(join(esp, 'outpost/b/vmlinuz'));
    const entriesBefore = (await device.bootLoader().entries()).map((e) => e.fileName).sort();
    const next = makeImage(1 * MiB);
    const kernel = makeImage(100_000);
    const served = Buffer.from(kernel.raw);
    served[10] ^= 0xff;
    const url = http.serve('/bad-boot/os-1.6.0.img', { body: next.raw });
    http.serve('/bad-boot/vmlinuz', { body: served });
    const manifest = manifestFor('1.6.0', url, next, keys.privateKey, {
      bootFiles: bootFilesFor({ url: 'vmlinuz', file: kernel }),
    });
    await request('download', downloadBody(manifest));
    const status = await stateIs('FAILED');
    expect(status.reason).toBe('FAILURE_REASON_CHECKSUM');
    expect(String(status.detail)).toMatch(/boot file vmlinuz hashes/);
    expect(await readFile(join(esp, 'outpost/b/vmlinuz'))).toEqual(before);
    expect((await device.bootLoader().entries()).map((e) => e.fileName).sort()).toEqual(entriesBefore);
  });
});
