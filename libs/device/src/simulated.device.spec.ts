/**
 * The simulator as the update agent will use it: a real GPT disk image made by sfdisk, an ESP tree,
 * and reboots that follow systemd-boot's rules — checked against the real `bootctl list`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootctlList } from '@outpost/testing';
import { selectEntry, sortEntries } from './boot/bls.js';
import { readPartitions } from './disk/partitions.js';
import { SimulatedDevice } from './simulated.device.js';

const B = {
  id: 'outpost-b.conf',
  title: 'Outpost (slot b)',
  version: '1.1.0',
  sortKey: 'outpost',
  linux: '/outpost/b/vmlinuz',
  options: 'root=PARTLABEL=rootfs_b rw',
};

describe('SimulatedDevice', () => {
  let dir: string;
  let device: SimulatedDevice;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-sim-'));
    device = await SimulatedDevice.open(dir);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lays out a GPT image with the A/B slots found by label, booted from a', async () => {
    const layout = await device.slots();
    const partitions = await readPartitions(device.diskImage);
    expect(partitions.map((p) => p.label)).toEqual(['esp', 'rootfs_a', 'rootfs_b', 'persistent']);
    expect(layout.active).toMatchObject({ slot: 'a', label: 'rootfs_a', path: device.diskImage });
    expect(layout.inactive.slot).toBe('b');
    const b = partitions.find((p) => p.label === 'rootfs_b');
    expect(layout.inactive.offset).toBe(b?.offset);
    expect(layout.inactive.size).toBe(64 * 1024 * 1024);
  });

  it('boots a one-shot entry once, counting its tries, then falls back to the default', async () => {
    const loader = device.bootLoader();
    await loader.writeEntry(B, 3);
    await loader.setOneShot(B.id);
    await device.reboot('try b');
    expect(await device.bootRecord()).toMatchObject({ slot: 'b', entryId: B.id, bootCount: 2 });
    expect((await loader.find(B.id))?.fileName).toBe('outpost-b+2-1.conf');
    expect(await loader.oneShot()).toBeUndefined();
    expect((await device.slots()).active.slot).toBe('b');

    // Not blessed: the next boot takes the default again (a silent fallback the update agent must see).
    await device.reboot('watchdog');
    expect(await device.bootRecord()).toMatchObject({ slot: 'a', entryId: 'outpost-a.conf' });
  });

  it('boots a blessed default for good, and never picks an entry marked bad', async () => {
    const loader = device.bootLoader();
    await loader.setOneShot(B.id);
    await device.reboot('try b again');
    await loader.bless(B.id);
    await loader.setDefault(B.id);
    expect((await loader.find(B.id))?.fileName).toBe('outpost-b.conf');
    await device.reboot('committed');
    expect((await device.bootRecord()).slot).toBe('b');

    await loader.markBad(B.id);
    await loader.setDefault('outpost-*');
    await device.reboot('b is bad');
    expect((await device.bootRecord()).slot).toBe('a');
  });

  it('falls back by boot counting when the new slot does not boot at all', async () => {
    const loader = device.bootLoader();
    await loader.setDefault('outpost-a.conf');
    await loader.writeEntry({ ...B, version: '2.0.0' }, 3);
    await device.setSlotBootable('b', false);
    // Even as the default, b fails every try; out of tries it sorts last and a boots.
    await loader.setDefault('outpost-*');
    await device.reboot('try the broken b');
    expect((await device.bootRecord()).slot).toBe('a');
    expect((await loader.find(B.id))?.fileName).toBe('outpost-b+0-3.conf');
    await device.setSlotBootable('b', true);
  });

  it('shows bootctl exactly what it believes: entries, order, tries and default', async () => {
    const loader = device.bootLoader();
    await loader.writeEntry({ ...B, version: '1.2.0' }, 3);
    await loader.writeEntry(
      { ...B, id: 'outpost-c.conf', version: '0.9.0', options: 'root=PARTLABEL=rootfs_a' },
      0,
    );
    await loader.setDefault('outpost-*');

    const listed = await bootctlList(device.espDir);
    const ours = sortEntries(await loader.entries());
    const chosen = selectEntry(ours, await loader.defaultPattern());
    expect(listed.map((e) => e.id)).toEqual(ours.map((e) => e.id));
    expect(listed.map((e) => e.tries)).toEqual(ours.map((e) => e.triesLeft));
    expect(listed.find((e) => e.default)?.id).toBe(chosen?.id);
  });
});
