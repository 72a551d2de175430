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
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { KV_DESIRED } from '@outpost/contracts';
import { eventually } from '@outpost/testing';
import {
  buildImage,
  copyOut,
  FLUENT_GUEST_PORT,
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
    // Open since 30 min, 2 h long: the install may start at once (the image sets jitterPercent 0, and
    // the run needs expectedUpdateMinutes of window left).
    windows: [{ timeZone: 'UTC', single: { start: at(-30 * MINUTE), end: at(90 * MINUTE) } }],
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

/** The slot this boot runs from (the kernel command line's root=PARTLABEL=rootfs_<slot>). */
async function activeSlot(): Promise<string> {
  const slot = /root=PARTLABEL=rootfs_([a-z0-9]+)/.exec(await shell('cat /proc/cmdline'))?.[1];
  if (!slot) throw new Error('this boot names no slot');
  return slot;
}

const other = (slot: string) => (slot === 'a' ? 'b' : 'a');

/** A line on the runner's stdout as each scenario passes (Jest prints its results only at the end). */
function progress(scenario: string): void {
  process.stdout.write(
    `boot test: ${scenario} passed at ${seconds(Date.now() - started)} s ${JSON.stringify(figures)}\n`,
  );
}

/**
 * Waits until the commit of `slot` is on the ESP: its entry blessed (no counter) and `loader.conf` naming
 * it. The update agent publishes COMMITTED once the commit is recorded, then blesses the entry and sets
 * the default through the root-side boot helper (a unit start: seconds under emulation). That window is
 * an open hole (docs/boot-test.md, "What the real boot found").
 */
async function commitOnEsp(slot: string): Promise<void> {
  await eventually(
    async () => {
      const out = await shell('ls -1 /efi/loader/entries; cat /efi/loader/loader.conf');
      if (
        !new RegExp(`^outpost-${slot}\\.conf$`, 'm').test(out) ||
        !new RegExp(`^default outpost-${slot}`, 'm').test(out)
      )
        throw new Error(`the commit of slot ${slot} is not on the ESP yet:\n${out}`);
    },
    5 * MINUTE,
    3000,
  );
}

/** `bootctl list` in the guest, as {id, fileName, title} of each Outpost entry (counter in the file name). */
async function bootEntries(): Promise<string> {
  // One file name per line: the serial shell is a terminal, where a bare `ls` prints columns.
  return shell('bootctl list --no-pager 2>/dev/null; ls -1 /efi/loader/entries');
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
      progress('boot');
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
      progress('units-ready');
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
      progress('operator');
    },
    10 * MINUTE,
  );

  it(
    "a line an Outpost unit logs reaches the observability agent's exporter through the journal",
    async () => {
      const nc = await operatorConnection(env);
      const observability = async () =>
        json(
          (await nc.request(`edge.${image.nodeId}.observability.cmd.status`, '{}', { timeout: 30_000 })).data,
        );
      const before = Number((await observability()).generation ?? 0);
      // The operator's telemetry profile: the journal of the Outpost units at WARN, exported over Fluent
      // forward to a receiver off the node (the test's, reached through guestfwd).
      const desired = await new Kvm(nc).open(KV_DESIRED);
      await desired.put(
        `${image.nodeId}.telemetry`,
        JSON.stringify({
          entries: [
            {
              input: 'journal',
              type: 'TELEMETRY_SIGNAL_LOGS',
              kind: 'TELEMETRY_KIND_HOST',
              level: 'TELEMETRY_LEVEL_WARN',
              intervalSeconds: 5,
            },
          ],
          exporters: { fluentForward: { host: '10.0.2.100', port: FLUENT_GUEST_PORT } },
        }),
      );
      await eventually(
        async () => {
          const s = await observability();
          const inputs = (s.inputs as { input: string }[] | undefined)?.map((i) => i.input) ?? [];
          if (Number(s.generation ?? 0) <= before || !inputs.includes('journal'))
            throw new Error(`profile not applied yet: ${JSON.stringify(s)}`);
        },
        10 * MINUTE,
        3000,
      );
      // A request with no reply subject: the edge-node unit's transport rejects it with a WARN line on
      // stdout, which systemd puts in the journal (priority from the line's <4> prefix). Sent again on
      // every try: journalctl -f starts at "now", so a line logged before it started is not followed.
      const subject = `edge.${image.nodeId}.node.cmd.health`;
      const wanted = `request on ${subject} has no reply subject`;
      const entry = await eventually(
        async () => {
          nc.publish(subject, '{}');
          await nc.flush();
          const found = env.fluent.entries.find(
            (e) => e.tag === 'outpost.journal' && String(e.record.message).includes(wanted),
          );
          if (!found) throw new Error(`not exported yet; ${env.fluent.entries.length} entries received`);
          return found;
        },
        10 * MINUTE,
        5000,
      );
      expect(entry.record).toMatchObject({
        'outpost.log.source': 'journal',
        'systemd.unit': 'outpost-edge-node.service',
        level: 'WARN',
      });
      // The same line in the guest's journal, from that unit.
      expect(
        await shell(
          `journalctl -b -u outpost-edge-node -p warning -o cat --no-pager | grep -c "no reply subject"`,
        ),
      ).toMatch(/^[1-9]/);
      progress('journal-export');
    },
    15 * MINUTE,
  );

  // The update scenarios work from whichever slot runs (each one's result is the next one's start).

  it(
    'an update that never reaches user space: systemd-boot falls back on its own, ROLLED_BACK (boot-fallback)',
    async () => {
      const t0 = Date.now();
      const from = await activeSlot();
      const target = other(from);
      const n = env.vm.boots.length;
      await desire('2.0.1', ['/bin/true']);
      // Boot n+1 runs the new slot's kernel and initramfs, finds no init and resets (panic=5); the one-shot
      // entry is spent, so boot n+2 is the default: the slot that ran before, with no agent's help.
      const failed = await env.vm.waitForBoot(n + 1, UPDATE_WITHIN);
      await env.vm.waitForConsole(/No init found|Kernel panic|Rebooting automatically/, READY_WITHIN, n + 1);
      expect(failed.lines.some((l) => l.text.includes(`root=PARTLABEL=rootfs_${target}`))).toBe(true);
      await bootedAndReady(n + 2);
      const fellBack = await waitForUpdate(
        'ROLLED_BACK 2.0.1',
        (s) => s.state === 'UPDATE_STATE_ROLLED_BACK' && s.version === '2.0.1',
        UPDATE_WITHIN,
      );
      figures.bootFallbackSeconds = seconds(Date.now() - t0);
      expect(fellBack).toMatchObject({ reason: 'FAILURE_REASON_BOOT_FALLBACK', activeSlot: from });
      expect(await shell('cat /proc/cmdline')).toMatch(
        new RegExp(`(^|\\s)root=PARTLABEL=rootfs_${from}(\\s|$)`),
      );
      const entries = await bootEntries();
      expect(entries).toMatch(new RegExp(`\\(slot ${from}\\) \\(default\\) \\(selected\\)`));
      expect(entries).toMatch(new RegExp(`^outpost-${target}\\+0-\\d+\\.conf$`, 'm'));
      progress('boot-fallback');
    },
    3 * UPDATE_WITHIN,
  );

  it(
    'good update: downloaded, written, rebooted into the other slot, trial passed, COMMITTED; that slot is the default and boots again',
    async () => {
      const t0 = Date.now();
      const from = await activeSlot();
      const target = other(from);
      const n = env.vm.boots.length;
      await desire('2.0.0', ['/bin/true']);
      // The agent writes the slot and its boot file, reboots (QEMU exits: -no-reboot), the harness powers on.
      await bootedAndReady(n + 1);
      const committed = await waitForUpdate(
        'COMMITTED 2.0.0',
        (s) => s.state === 'UPDATE_STATE_COMMITTED' && s.version === '2.0.0',
        UPDATE_WITHIN,
      );
      figures.goodUpdateSeconds = seconds(Date.now() - t0);
      expect(committed).toMatchObject({ activeSlot: target, entryId: `outpost-${target}.conf` });
      expect(env.server.served.get('/rootfs-2.0.0.img.gz')).toBeGreaterThan(0);
      expect(env.server.served.get('/uki-2.0.0.efi')).toBeGreaterThan(0);
      expect(await shell('cat /proc/cmdline')).toMatch(
        new RegExp(`(^|\\s)root=PARTLABEL=rootfs_${target}(\\s|$)`),
      );
      expect(await shell('cat /etc/outpost-image')).toMatch(/OUTPOST_IMAGE_VERSION=2\.0\.0/);
      await commitOnEsp(target);
      let entries = await bootEntries();
      // This boot was the one-shot trial of the counted entry: systemd-boot 252 reports the file name it
      // booted, with the counter as it was before the boot counted (e.g. outpost-b+3.conf), absent now;
      // blessed since (no counter) and the default for the next boot.
      expect(entries).toMatch(new RegExp(`title: Outpost 2\\.0\\.0 \\(slot ${target}\\) \\(default\\)`));
      expect(entries).toMatch(
        new RegExp(`title: outpost-${target}\\+\\d+(-\\d+)?\\.conf \\(selected\\) \\(reported/absent\\)`),
      );
      expect(entries).toMatch(new RegExp(`^outpost-${target}\\.conf$`, 'm'));
      expect(await shell('cat /efi/loader/loader.conf')).toMatch(
        new RegExp(`^default outpost-${target}`, 'm'),
      );
      // The next boot is the new slot again (the operator reboots the node).
      await env.vm.shell('systemctl reboot', 30_000).catch(() => undefined);
      await bootedAndReady(n + 2);
      expect(await shell('cat /proc/cmdline')).toMatch(
        new RegExp(`(^|\\s)root=PARTLABEL=rootfs_${target}(\\s|$)`),
      );
      entries = await bootEntries();
      expect(entries).toMatch(
        new RegExp(`title: Outpost 2\\.0\\.0 \\(slot ${target}\\) \\(default\\) \\(selected\\)`),
      );
      progress('good-update');
    },
    2 * UPDATE_WITHIN,
  );

  it(
    'an update whose health check fails: rolled back, ROLLED_BACK (health), its entry marked bad',
    async () => {
      const t0 = Date.now();
      const from = await activeSlot();
      const target = other(from);
      const n = env.vm.boots.length;
      await desire('2.1.0', ['/bin/false'], 120);
      await bootedAndReady(n + 1); // the trial boot, into the new slot (2.1.0)
      await bootedAndReady(n + 2); // the rollback reboot, into the slot that ran before
      const rolledBack = await waitForUpdate(
        'ROLLED_BACK 2.1.0',
        (s) => s.state === 'UPDATE_STATE_ROLLED_BACK' && s.version === '2.1.0',
        UPDATE_WITHIN,
      );
      figures.healthRollbackSeconds = seconds(Date.now() - t0);
      expect(rolledBack).toMatchObject({ reason: 'FAILURE_REASON_HEALTH', activeSlot: from });
      expect(await shell('cat /proc/cmdline')).toMatch(
        new RegExp(`(^|\\s)root=PARTLABEL=rootfs_${from}(\\s|$)`),
      );
      const entries = await bootEntries();
      expect(entries).toMatch(new RegExp(`\\(slot ${from}\\) \\(default\\) \\(selected\\)`));
      expect(entries).toMatch(new RegExp(`^outpost-${target}\\+0-\\d+\\.conf$`, 'm'));
      progress('health-rollback');
    },
    3 * UPDATE_WITHIN,
  );

  it(
    'power cut during the slot write: boots the slot that ran, the update resumes and commits',
    async () => {
      const t0 = Date.now();
      const from = await activeSlot();
      const target = other(from);
      const n = env.vm.boots.length;
      await desire('2.1.0', ['/bin/true'], 600, 1); // the version that failed before, retried: a new run
      const writing = await waitForUpdate(
        'the slot write of 2.1.0 under way',
        (s) =>
          s.state === 'UPDATE_STATE_INSTALLING' &&
          s.version === '2.1.0' &&
          s.step === 'write' &&
          Number(s.bytesDone ?? 0) > Number(s.bytesTotal ?? 0) / 5,
        UPDATE_WITHIN,
      );
      expect(writing).toMatchObject({ activeSlot: from, targetSlot: target });
      await env.vm.powerCut();
      await env.vm.powerOn();
      await bootedAndReady(n + 1);
      // Never a boot into the half-written slot: this boot is the slot that ran, and nothing names the
      // other one as bootable while it is incomplete (no entry with tries left, no one-shot).
      expect(await activeSlot()).toBe(from);
      const entries = await bootEntries();
      expect(entries).toMatch(new RegExp(`\\(slot ${from}\\) \\(default\\) \\(selected\\)`));
      expect(entries).not.toMatch(new RegExp(`^outpost-${target}(\\+[1-9]\\d*(-\\d+)?)?\\.conf$`, 'm'));
      // The update resumes (the staged image is on the data partition) and ends as a good one does.
      const committed = await waitForUpdate(
        'COMMITTED 2.1.0 after the power cut',
        (s) => s.state === 'UPDATE_STATE_COMMITTED' && s.version === '2.1.0',
        UPDATE_WITHIN,
      );
      figures.powerCutWriteSeconds = seconds(Date.now() - t0);
      expect(committed).toMatchObject({ activeSlot: target });
      expect(await activeSlot()).toBe(target);
      expect(await shell('cat /etc/outpost-image')).toMatch(/OUTPOST_IMAGE_VERSION=2\.1\.0/);
      await commitOnEsp(target);
      expect(await shell('cat /efi/loader/loader.conf')).toMatch(
        new RegExp(`^default outpost-${target}`, 'm'),
      );
      progress('power-cut-write');
    },
    3 * UPDATE_WITHIN,
  );

  it(
    'power cut during the trial: systemd-boot boots the slot that ran, ROLLED_BACK (boot-fallback), the entry bad',
    async () => {
      const t0 = Date.now();
      const from = await activeSlot();
      const target = other(from);
      const n = env.vm.boots.length;
      // A check that takes its time: the trial is still running when the power goes.
      await desire('2.0.0', ['/bin/sleep', '590'], 3600, 1);
      await bootedAndReady(n + 1);
      await waitForUpdate(
        'the trial of 2.0.0',
        (s) => s.state === 'UPDATE_STATE_VERIFYING' && s.version === '2.0.0' && s.activeSlot === target,
        UPDATE_WITHIN,
      );
      expect(await activeSlot()).toBe(target);
      await env.vm.powerCut();
      await env.vm.powerOn();
      await bootedAndReady(n + 2);
      // The one-shot was spent by the trial boot and the counted entry is not the default: the firmware
      // and systemd-boot bring back the slot that ran, with no agent's help.
      expect(await activeSlot()).toBe(from);
      const rolledBack = await waitForUpdate(
        'ROLLED_BACK 2.0.0 after the power cut',
        (s) => s.state === 'UPDATE_STATE_ROLLED_BACK' && s.version === '2.0.0',
        UPDATE_WITHIN,
      );
      figures.powerCutTrialSeconds = seconds(Date.now() - t0);
      expect(rolledBack).toMatchObject({ reason: 'FAILURE_REASON_BOOT_FALLBACK', activeSlot: from });
      const entries = await bootEntries();
      expect(entries).toMatch(new RegExp(`\\(slot ${from}\\) \\(default\\) \\(selected\\)`));
      expect(entries).toMatch(new RegExp(`^outpost-${target}\\+0-\\d+\\.conf$`, 'm'));
      progress('power-cut-trial');
    },
    3 * UPDATE_WITHIN,
  );
});
