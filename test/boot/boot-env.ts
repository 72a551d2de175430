/**
 * The boot test's world: the image (built or taken from the cache by tools/image/build.mjs), a copy of
 * its disk for one VM, the host's image server, the VM, and the operator's NATS connection to the guest.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { FluentReceiver, freePort } from '@outpost/testing';
import { startImageServer, type ImageServer } from './image-server.js';
import { QemuVm } from './qemu-vm.js';

export const REPO = resolve(new URL('../..', import.meta.url).pathname);

export interface ImageInfo {
  dir: string;
  nodeId: string;
  baseVersion: string;
  kernel: string;
  layout: { label: string; offset: number; size: number }[];
  rootfsSize: number;
  payloads: Record<string, { variant: string; file: string; manifest: string; size: number; gzSize: number }>;
  /** Seconds the build (or the cache look-up) took in this run. */
  seconds: number;
}

function sh(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      file,
      args,
      { encoding: 'utf8', maxBuffer: 64 << 20, timeout: timeoutMs, cwd: REPO },
      (err, out, errOut) =>
        err
          ? fail(new Error(`${file} ${args.join(' ')}: ${err.message}\n${errOut.slice(-4000)}`))
          : done(out),
    );
  });
}

/** Builds the image (or finds it cached): the builder prints image.json's content plus its dir. */
export async function buildImage(): Promise<ImageInfo> {
  // A given image directory (e.g. one built by `npm run image` before) instead of building.
  const given = process.env.OUTPOST_BOOT_IMAGE_DIR;
  if (given) {
    const info = JSON.parse(await readFile(join(given, 'image.json'), 'utf8')) as ImageInfo;
    return { ...info, dir: resolve(given), seconds: 0 };
  }
  const out = await sh(process.execPath, [join(REPO, 'tools/image/build.mjs'), '--json'], 40 * 60_000);
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ImageInfo;
}

/** Where the guest's observability agent finds the test's Fluent receiver: 10.0.2.100:24224. */
export const FLUENT_GUEST_PORT = 24224;

export interface BootEnv {
  image: ImageInfo;
  work: string;
  vm: QemuVm;
  server: ImageServer;
  natsPort: number;
  adminSeed: Uint8Array;
  /** A Fluent forward receiver the guest reaches at 10.0.2.100:24224 (its observability agent's exporter). */
  fluent: FluentReceiver;
  /** The operator's connection to the guest's NATS (through the forwarded port), once opened. */
  nats?: NatsConnection;
  close(): Promise<void>;
}

export async function startBootEnv(image: ImageInfo): Promise<BootEnv> {
  const work = await mkdtemp(join(tmpdir(), 'outpost-boot-'));
  // The disk stays sparse (~3.9 GB apparent, ~0.6 GB used).
  await sh('cp', ['--sparse=always', join(image.dir, 'disk.img'), join(work, 'disk.img')], 300_000);
  const server = await startImageServer(image.dir);
  const natsPort = await freePort();
  const fluent = new FluentReceiver();
  await fluent.start();
  const vm = await QemuVm.create({
    dir: work,
    disk: join(work, 'disk.img'),
    natsPort,
    imagePort: server.port,
    forwards: [{ guestPort: FLUENT_GUEST_PORT, hostPort: fluent.port }],
  });
  const adminSeed = new TextEncoder().encode((await readFile(join(image.dir, 'admin.nk'), 'utf8')).trim());
  const env: BootEnv = {
    image,
    work,
    vm,
    server,
    natsPort,
    adminSeed,
    fluent,
    async close() {
      await env.nats?.close().catch(() => undefined);
      await vm.stop();
      await server.close();
      await fluent.stop();
      // Keep the console logs of a failed run for a human; the disk goes either way.
      await rm(join(work, 'disk.img'), { force: true });
      if (!process.env.OUTPOST_BOOT_KEEP) await rm(work, { recursive: true, force: true });
    },
  };
  return env;
}

/** The operator's NATS connection to the guest, as the node's admin user (nkey), through hostfwd. */
export async function operatorConnection(env: BootEnv): Promise<NatsConnection> {
  env.nats ??= await connect({
    servers: `nats://127.0.0.1:${env.natsPort}`,
    name: 'outpost-boot-test',
    authenticator: nkeyAuthenticator(env.adminSeed),
    reconnectTimeWait: 1000,
    maxReconnectAttempts: -1,
    timeout: 20_000,
  });
  return env.nats;
}

/** Copies a file out of the image dir for the operator's tools (e.g. the admin seed for outpostctl). */
export async function copyOut(env: BootEnv, name: string): Promise<string> {
  const dest = join(env.work, name);
  await cp(join(env.image.dir, name), dest);
  return dest;
}
