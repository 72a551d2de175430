// A real Outpost node boots: the image from tools/image (Debian 12, systemd, systemd-boot, the bundle as
// deploy/install.sh lays it out) under QEMU with OVMF UEFI firmware and software emulation. Asserted from
// the outside as an operator sees it (the guest's NATS through a forwarded loopback port, outpostctl)
// and from the inside over the test image's root shell on the second serial port (bootctl, systemctl).
// Slow by nature (no KVM): every wait is for a state, with generous limits; no assertion on time.
// Run with `npm run test:boot` (root: the image build needs it). See docs/boot-test.md.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { eventually } from '@outpost/testing';
import {
  buildImage,
  copyOut,
  operatorConnection,
  REPO,
  startBootEnv,
  type BootEnv,
  type ImageInfo,
} from './boot-env.js';

const MINUTE = 60_000;
/** Power-on to edge-node READY under TCG on a shared 2-core machine: typically 2-4 min; allow much more. */
const READY_WITHIN = 20 * MINUTE;
/** Download (~170 MB gzip) + slot write and read-back + reboot + READY + trial, emulated. */
const UPDATE_WITHIN = 60 * MINUTE;

const started = Date.now();
let image: ImageInfo;
let env: BootEnv;
const figures: Record<string, number | string> = {};

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

async function shell(command: string, timeoutMs = 5 * MINUTE): Promise<string> {
  const { code, out } = await env.vm.shell(command, timeoutMs);
  if (code !== 0) throw new Error(`guest: \`${command}\` exited ${code}:\n${out}`);
  return out;
}

function json(data: Uint8Array): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
}

/** The installed-from-source operator CLI against the guest's bus, as the node's admin. */
async function outpostctl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const creds = await copyOut(env, 'admin.nk');
  return new Promise((done) =>
    execFile(
      process.execPath,
      [
        join(REPO, 'apps/outpostctl/dist/main.js'),
        ...args,
        ...['--server', `nats://127.0.0.1:${env.natsPort}`, '--creds', creds, '--timeout', '30000'],
      ],
      { encoding: 'utf8', timeout: 5 * MINUTE },
      (err, out, errOut) =>
        done({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out, err: errOut }),
    ),
  );
}

/** The update agent's status, asked on the bus (fails while the node reboots: callers retry). */
async function updateStatus(): Promise<Record<string, unknown>> {
  const nc = await operatorConnection(env);
  const reply = await nc.request(`edge.${image.nodeId}.update.cmd.status`, '{}', { timeout: 20_000 });
  return json(reply.data);
}

/** Polls the update agent until `done` holds for its status; returns that status. */
async function waitForUpdate(
  what: string,
  done: (s: Record<string, unknown>) => boolean,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  let last: unknown = 'no answer yet';
  return eventually(
    async () => {
      const s = await updateStatus().catch((err: unknown) => ({ error: String(err) }));
      last = s;
      if (!done(s)) throw new Error(`waiting for ${what}; update status: ${JSON.stringify(last)}`);
      return s;
    },
    timeoutMs,
    5000,
  );
}

/** Waits for boot `n` to begin and for edge-node to be READY in it; records the power-on to READY time. */
async function bootedAndReady(n: number): Promise<void> {
  const boot = await env.vm.waitForBoot(n, UPDATE_WITHIN);
  await shell('until systemctl is-active -q outpost-edge-node.service; do sleep 1; done', READY_WITHIN);
  figures[`boot${n}ReadySeconds`] = seconds(Date.now() - boot.poweredOnAt);
}

/** The operator asks for an update: the DesiredUpdate (manifest, an open window, health policy) in KV. */
async function desire(
  version: string,
  checkCommand: string[],
  deadlineSeconds = 600,
  retry = 0,
): Promise<void> {
  const manifest = JSON.parse(await readFile(join(image.dir, `manifest-${version}.json`), 'utf8')) as unknown;
  const at = (ms: number) => new Date(Date.now() + ms).toISOString().slice(0, 16);
  const desired = {
    manifest,
    windows: [{ timeZone: 'UTC', single: { start: at(-60 * MINUTE), end: at(24 * 60 * MINUTE) } }],
    healthPolicy: {
      deadlineSeconds,
      checks: [{ name: 'app', command: checkCommand, required: true, timeoutSeconds: 120 }],
    },
    retry,
  };
  const file = join(env.work, `desired-${version}-${retry}.json`);
  await writeFile(file, JSON.stringify(desired));
  const set = await outpostctl(['update', 'set', image.nodeId, '--manifest', file]);
  expect({ code: set.code, err: set.err }).toEqual({ code: 0, err: '' });
}

/** `bootctl list` in the guest, as {id, fileName, title} of each Outpost entry (counter in the file name). */
async function bootEntries(): Promise<string> {
  return shell('bootctl list --no-pager 2>/dev/null; ls /efi/loader/entries');
}

beforeAll(async () => {
  const t0 = Date.now();
  image = await buildImage();
  figures.imageBuildSeconds = seconds(Date.now() - t0);
  env = await startBootEnv(image);
  await env.vm.powerOn();
}, 45 * MINUTE);

afterAll(async () => {
  await env?.close();
  figures.testWallSeconds = seconds(Date.now() - started);
  figures.boots = JSON.stringify(
    env?.vm.boots.map((b) => ({
      n: b.n,
      poweredOnSeconds: b.exitedAt ? seconds(b.exitedAt - b.poweredOnAt) : undefined,
    })) ?? [],
  );
  process.stdout.write(`boot test figures: ${JSON.stringify(figures)}\n`);
}, 5 * MINUTE);

describe('a real node: UEFI, systemd-boot, systemd as PID 1, the Outpost units (QEMU, software emulation)', () => {
  it(
    'boots through OVMF and systemd-boot into slot a, with systemd as PID 1',
    async () => {
      const userSpace = await env.vm.waitForConsole(
        /systemd\[1\]: Hostname set to|Welcome to Debian/,
        READY_WITHIN,
      );
      figures.powerOnToUserSpaceSeconds = seconds(userSpace.at);
      expect(await shell('readlink /proc/1/exe')).toMatch(/^\/(usr\/)?lib\/systemd\/systemd\n$/);
      expect(await shell('cat /proc/cmdline')).toMatch(/(^|\s)root=PARTLABEL=rootfs_a(\s|$)/);
      const list = await shell('bootctl list --no-pager');
      expect(list).toMatch(/title: Outpost 1\.0\.0 \(slot a\) \(default\)/);
      expect(list).toMatch(/id: outpost-a\.conf/);
      expect(list).toMatch(/linux: \/outpost\/a\/vmlinuz/);
      // The firmware really ran systemd-boot, which told the OS what it is and which entry it picked
      // (LoaderInfo, LoaderEntrySelected: what bootctl's "(selected)" reads).
      expect(list).toMatch(/title: Outpost 1\.0\.0 \(slot a\) \(default\) \(selected\)/);
      expect(await shell('bootctl status --no-pager 2>&1 | grep -E "Product:"')).toMatch(
        /Product: systemd-boot 252/,
      );
      // The persistent data partition and the ESP are mounted where the agents expect them.
      expect(await shell('findmnt -no SOURCE,FSTYPE /var/lib/outpost; findmnt -no FSTYPE /efi')).toMatch(
        /ext4\n(.|\n)*vfat/,
      );
    },
    READY_WITHIN,
  );

  it(
    'starts the Outpost units as deploy/install.sh installed them, and edge-node signals READY',
    async () => {
      // Type=notify: the unit is active once the process sent READY=1 (every agent in it started).
      await shell('until systemctl is-active -q outpost-edge-node.service; do sleep 1; done', READY_WITHIN);
      figures.powerOnToEdgeNodeReadySeconds = seconds(Date.now() - env.vm.current.poweredOnAt);
      const state = await shell(
        'systemctl show -p Id,ActiveState,SubState,NRestarts outpost-nats.service outpost-nats-provision.service outpost-edge-node.service',
      );
      const units = state.split('\n\n').map((block) =>
        Object.fromEntries(
          block
            .trim()
            .split('\n')
            .map((l) => l.split('=', 2)),
        ),
      );
      const byId = Object.fromEntries(units.map((u) => [u.Id, u]));
      expect(byId['outpost-nats.service']).toMatchObject({ ActiveState: 'active', SubState: 'running' });
      expect(byId['outpost-nats-provision.service']).toMatchObject({
        ActiveState: 'active',
        SubState: 'exited',
      });
      expect(byId['outpost-edge-node.service']).toMatchObject({ ActiveState: 'active', SubState: 'running' });
      // The per-agent units are disabled in all-in-one mode: exactly one set runs.
      expect(await shell('systemctl is-enabled outpost-update-agent.service || true')).toMatch(/disabled/);
      // The agents' JSON lines are in the journal, from the unit (sd_notify READY came from the same process).
      expect(
        await shell('journalctl -b -u outpost-edge-node -o cat --no-pager | grep -c "status READY"'),
      ).toMatch(/^[1-9]/);
    },
    READY_WITHIN,
  );

  it(
    'answers the operator through the forwarded NATS port: every agent in $SRV.PING, outpostctl lists the node',
    async () => {
      const nc: NatsConnection = await operatorConnection(env);
      const names = await eventually(
        async () => {
          const found: string[] = [];
          for await (const m of await nc.requestMany('$SRV.PING', '', { maxWait: 3000 })) {
            const p = json(m.data);
            if ((p.metadata as Record<string, string> | undefined)?.node_id === image.nodeId)
              found.push(String(p.name));
          }
          if (found.length < 7) throw new Error(`only ${found.sort().join(', ')} answered`);
          return found.sort();
        },
        5 * MINUTE,
        2000,
      );
      expect(names).toEqual(
        ['cluster', 'hardware', 'node', 'observability', 'orchestrator', 'telemetry', 'update'].map(
          (a) => `outpost-${a}`,
        ),
      );
      const health = await eventually(
        async () => {
          const h = json(
            (await nc.request(`edge.${image.nodeId}.node.cmd.health`, '{}', { timeout: 30_000 })).data,
          );
          if (h.state !== 'HEALTH_STATE_HEALTHY') throw new Error(`node health: ${JSON.stringify(h)}`);
          return h;
        },
        5 * MINUTE,
        2000,
      );
      expect(health).toMatchObject({ nodeId: image.nodeId, state: 'HEALTH_STATE_HEALTHY' });
      const ctl = await outpostctl(['nodes', '--json']);
      expect({ code: ctl.code, err: ctl.err }).toEqual({ code: 0, err: '' });
      expect((JSON.parse(ctl.out) as { nodes: { nodeId: string }[] }).nodes.map((n) => n.nodeId)).toContain(
        image.nodeId,
      );
    },
    10 * MINUTE,
  );

  it(
    'good update A -> B: downloaded, written, rebooted into B, trial passed, COMMITTED; B is the default and boots again',
    async () => {
      const t0 = Date.now();
      await desire('2.0.0', ['/bin/true']);
      // The agent writes slot b and its boot files, reboots (QEMU exits: -no-reboot), the harness powers on.
      await bootedAndReady(2);
      const committed = await waitForUpdate(
        'COMMITTED 2.0.0',
        (s) => s.state === 'UPDATE_STATE_COMMITTED' && s.version === '2.0.0',
        UPDATE_WITHIN,
      );
      figures.goodUpdateSeconds = seconds(Date.now() - t0);
      expect(committed).toMatchObject({ activeSlot: 'b', entryId: 'outpost-b.conf' });
      expect(env.server.served.get('/rootfs-2.0.0.img.gz')).toBeGreaterThan(0);
      expect(await shell('cat /proc/cmdline')).toMatch(/(^|\s)root=PARTLABEL=rootfs_b(\s|$)/);
      expect(await shell('cat /etc/outpost-image')).toMatch(/OUTPOST_IMAGE_VERSION=2\.0\.0/);
      const entries = await bootEntries();
      expect(entries).toMatch(/title: Outpost 2\.0\.0 \(slot b\) \(default\) \(selected\)/);
      // Blessed: the counter is gone from the file name.
      expect(entries).toMatch(/^outpost-b\.conf$/m);
      // The next boot is B again (the operator reboots the node).
      await env.vm.shell('systemctl reboot', 30_000).catch(() => undefined);
      await bootedAndReady(3);
      expect(await shell('cat /proc/cmdline')).toMatch(/(^|\s)root=PARTLABEL=rootfs_b(\s|$)/);
      expect(await bootEntries()).toMatch(/title: Outpost 2\.0\.0 \(slot b\) \(default\) \(selected\)/);
    },
    2 * UPDATE_WITHIN,
  );

  it(
    'an update whose health check fails: rolled back to B, ROLLED_BACK (health), its entry marked bad',
    async () => {
      const t0 = Date.now();
      await desire('2.1.0', ['/bin/false'], 120);
      await bootedAndReady(4); // the trial boot, into slot a (2.1.0)
      await bootedAndReady(5); // the rollback reboot, into slot b (2.0.0)
      const rolledBack = await waitForUpdate(
        'ROLLED_BACK 2.1.0',
        (s) => s.state === 'UPDATE_STATE_ROLLED_BACK' && s.version === '2.1.0',
        UPDATE_WITHIN,
      );
      figures.healthRollbackSeconds = seconds(Date.now() - t0);
      expect(rolledBack).toMatchObject({ reason: 'FAILURE_REASON_HEALTH', activeSlot: 'b' });
      expect(await shell('cat /proc/cmdline')).toMatch(/(^|\s)root=PARTLABEL=rootfs_b(\s|$)/);
      const entries = await bootEntries();
      expect(entries).toMatch(/title: Outpost 2\.0\.0 \(slot b\) \(default\) \(selected\)/);
      expect(entries).toMatch(/^outpost-a\+0-\d+\.conf$/m);
    },
    3 * UPDATE_WITHIN,
  );

  it(
    'an update that never reaches user space: systemd-boot falls back on its own, ROLLED_BACK (boot-fallback)',
    async () => {
      const t0 = Date.now();
      await desire('2.0.1', ['/bin/true']);
      // Boot 6 runs the new slot's kernel and initramfs, finds no init and panics (panic=5 resets);
      // the one-shot entry is spent, so boot 7 is the default: slot b.
      const failed = await env.vm.waitForBoot(6, UPDATE_WITHIN);
      await env.vm.waitForConsole(/No init found|Kernel panic|Rebooting automatically/, READY_WITHIN, 6);
      expect(failed.lines.some((l) => /root=PARTLABEL=rootfs_a/.test(l.text))).toBe(true);
      await bootedAndReady(7);
      const fellBack = await waitForUpdate(
        'ROLLED_BACK 2.0.1',
        (s) => s.state === 'UPDATE_STATE_ROLLED_BACK' && s.version === '2.0.1',
        UPDATE_WITHIN,
      );
      figures.bootFallbackSeconds = seconds(Date.now() - t0);
      expect(fellBack).toMatchObject({ reason: 'FAILURE_REASON_BOOT_FALLBACK', activeSlot: 'b' });
      expect(await shell('cat /proc/cmdline')).toMatch(/(^|\s)root=PARTLABEL=rootfs_b(\s|$)/);
      const entries = await bootEntries();
      expect(entries).toMatch(/\(slot b\) \(default\) \(selected\)/);
      expect(entries).toMatch(/^outpost-a\+0-\d+\.conf$/m);
    },
    3 * UPDATE_WITHIN,
  );
});
