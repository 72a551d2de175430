// A real Outpost node boots: the image from tools/image (Debian 12, systemd, systemd-boot, the bundle as
// deploy/install.sh lays it out) under QEMU with OVMF UEFI firmware and software emulation. Asserted from
// the outside as an operator sees it (the guest's NATS through a forwarded loopback port, outpostctl)
// and from the inside over the test image's root shell on the second serial port (bootctl, systemctl).
// Slow by nature (no KVM): every wait is for a state, with generous limits; no assertion on time.
// Run with `npm run test:boot` (root: the image build needs it). See docs/boot-test.md.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
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
      const creds = await copyOut(env, 'admin.nk');
      const ctl = await new Promise<{ code: number; out: string; err: string }>((done) =>
        execFile(
          process.execPath,
          [
            join(REPO, 'apps/outpostctl/dist/main.js'),
            'nodes',
            '--json',
            '--server',
            `nats://127.0.0.1:${env.natsPort}`,
            '--creds',
            creds,
            '--timeout',
            '30000',
          ],
          { encoding: 'utf8', timeout: 5 * MINUTE },
          (err, out, errOut) =>
            done({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out, err: errOut }),
        ),
      );
      expect({ code: ctl.code, err: ctl.err }).toEqual({ code: 0, err: '' });
      expect((JSON.parse(ctl.out) as { nodes: { nodeId: string }[] }).nodes.map((n) => n.nodeId)).toContain(
        image.nodeId,
      );
    },
    10 * MINUTE,
  );
});
