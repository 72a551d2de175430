/**
 * The device simulator: a directory that holds what a real node has, so the suite runs anywhere
 * (`npm start`, end-to-end tests). Layout:
 *   etc/machine-id, etc/hostname, sys/class/dmi/id/product_uuid   identity facts
 *   disk.img                                                    GPT image: esp, rootfs_a, rootfs_b, persistent
 *   esp/                                                        the ESP tree (loader/loader.conf, loader/entries)
 *   power/boot.json                                             the current boot: slot, entry, count, time
 *   power/oneshot                                               stands in for the LoaderEntryOneShot EFI variable
 *   power/unbootable                                            slots that fail to boot (one per line), for tests
 * reboot() picks the next entry exactly like systemd-boot (one-shot, then default, entries out of tries
 * last, counting down tries), records it as the running boot and tells the listeners (who restart the
 * agents).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterBootAttempt, selectEntry, slotOfEntry, type BootEntry } from './boot/bls.js';
import { EspBootLoader, type OneShotStore } from './boot/esp-boot-loader.js';
import {
  parseMachineId,
  parseProductUuid,
  type Device,
  type IdentityFacts,
  type SlotLayout,
} from './device.js';
import { createAbDiskImage, readPartitions } from './disk/partitions.js';
import { readOptional } from './linux.device.js';
import { slotLayout } from './slots.js';

export interface BootRecord {
  bootedAt: string;
  bootCount: number;
  /** The slot this boot runs from. */
  slot: string;
  /** The entry id systemd-boot booted. */
  entryId: string;
}

/** Sizes of the simulated disk (MiB); small, and sparse on disk. */
export const SIMULATED_DISK = { esp: 8, rootfs: 64, persistent: 8 } as const;

class FileOneShot implements OneShotStore {
  constructor(private readonly path: string) {}
  async get() {
    return (await readOptional(this.path))?.trim() || undefined;
  }
  async set(id: string) {
    await writeFile(this.path, `${id}\n`);
  }
  async clear() {
    await rm(this.path, { force: true });
  }
}

export class SimulatedDevice implements Device {
  readonly kind = 'simulated' as const;
  readonly bootFilesRequired = false;
  private readonly loader: EspBootLoader;
  private readonly rebootListeners = new Set<(record: BootRecord) => void | Promise<void>>();

  private constructor(readonly dir: string) {
    this.loader = new EspBootLoader(join(dir, 'esp'), new FileOneShot(join(dir, 'power', 'oneshot')));
  }

  /** Opens the simulator in `dir`, creating a fresh device (booted from slot a) if it holds none. */
  static async open(dir: string): Promise<SimulatedDevice> {
    const device = new SimulatedDevice(dir);
    await device.ensure('etc/machine-id', () => `${randomBytes(16).toString('hex')}\n`);
    await device.ensure('etc/hostname', () => `sim-${randomBytes(3).toString('hex')}\n`);
    await device.ensure('sys/class/dmi/id/product_uuid', () => `${randomUUID()}\n`);
    await device.ensureEsp();
    await device.ensure('power/boot.json', () =>
      JSON.stringify({
        bootedAt: new Date().toISOString(),
        bootCount: 1,
        slot: 'a',
        entryId: 'outpost-a.conf',
      } satisfies BootRecord),
    );
    return device;
  }

  get diskImage(): string {
    return join(this.dir, 'disk.img');
  }

  get espDir(): string {
    return join(this.dir, 'esp');
  }

  async identityFacts(): Promise<IdentityFacts> {
    const [machineId, productUuid, hostname] = await Promise.all([
      readOptional(join(this.dir, 'etc/machine-id')),
      readOptional(join(this.dir, 'sys/class/dmi/id/product_uuid')),
      readOptional(join(this.dir, 'etc/hostname')),
    ]);
    return {
      machineId: parseMachineId(machineId),
      productUuid: parseProductUuid(productUuid),
      hostname: hostname?.trim() || 'simulated',
    };
  }

  async hostUptimeSeconds(): Promise<number | undefined> {
    const record = await this.bootRecord().catch(() => undefined);
    const seconds = record ? (Date.now() - Date.parse(record.bootedAt)) / 1000 : NaN;
    return Number.isFinite(seconds) ? Math.max(0, seconds) : undefined;
  }

  async bootRecord(): Promise<BootRecord> {
    const record = JSON.parse(
      await readFile(join(this.dir, 'power/boot.json'), 'utf8'),
    ) as Partial<BootRecord>;
    return {
      bootedAt: record.bootedAt ?? new Date(0).toISOString(),
      bootCount: record.bootCount ?? 1,
      slot: record.slot ?? 'a',
      entryId: record.entryId ?? 'outpost-a.conf',
    };
  }

  /** The disk image is made on first use (it needs sfdisk; identity-only users never pay for it). */
  async slots(): Promise<SlotLayout> {
    // Exists or not: reading the image to find out would pull all of its 146 MiB through memory.
    if (
      !(await access(this.diskImage).then(
        () => true,
        () => false,
      ))
    ) {
      await createAbDiskImage(this.diskImage, SIMULATED_DISK);
    }
    const partitions = await readPartitions(this.diskImage);
    const { slot } = await this.bootRecord();
    return slotLayout(
      partitions,
      slot,
      () => this.diskImage,
      (p) => p.offset,
    );
  }

  bootLoader(): EspBootLoader {
    return this.loader;
  }

  /** Called after every simulated reboot, with the new boot record. */
  onReboot(listener: (record: BootRecord) => void | Promise<void>): () => void {
    this.rebootListeners.add(listener);
    return () => this.rebootListeners.delete(listener);
  }

  /**
   * Makes a slot fail to boot (or boot again): a boot that picks it dies before userspace, so the
   * firmware counts the try and boots again, like a kernel that panics and a watchdog that resets.
   */
  async setSlotBootable(slot: string, bootable: boolean): Promise<void> {
    const path = join(this.dir, 'power', 'unbootable');
    const current = new Set(((await readOptional(path)) ?? '').split('\n').filter(Boolean));
    if (bootable) current.delete(slot);
    else current.add(slot);
    await mkdir(join(this.dir, 'power'), { recursive: true });
    await writeFile(path, [...current].map((s) => `${s}\n`).join(''));
  }

  async reboot(_reason: string): Promise<void> {
    const unbootable = new Set(
      ((await readOptional(join(this.dir, 'power', 'unbootable'))) ?? '').split('\n').filter(Boolean),
    );
    let chosen: BootEntry | undefined;
    // Each failed boot consumes one try; a bounded number of resets, then the device stays down.
    for (let attempt = 0; attempt < 16; attempt++) {
      // systemd-boot skips an entry whose kernel is not on the ESP.
      const entries = await this.bootableEntries();
      chosen = selectEntry(entries, await this.loader.defaultPattern(), await this.loader.oneShotValue());
      await this.loader.clearOneShot(); // the firmware variable is consumed by the boot that reads it
      if (!chosen) throw new Error(`simulated firmware: no boot entry in ${this.loader.espDir}`);
      await this.loader.renameEntryFile(chosen.fileName, afterBootAttempt(chosen));
      if (!unbootable.has(slotOfEntry(chosen) ?? '')) break;
      if (attempt === 15) throw new Error(`simulated firmware: no entry boots (last tried ${chosen.id})`);
    }
    const booted = chosen as BootEntry;
    const previous = await this.bootRecord();
    const record: BootRecord = {
      bootedAt: new Date().toISOString(),
      bootCount: previous.bootCount + 1,
      slot: slotOfEntry(booted) ?? previous.slot,
      entryId: booted.id,
    };
    await mkdir(join(this.dir, 'power'), { recursive: true });
    await writeFile(join(this.dir, 'power', 'boot.json'), JSON.stringify(record));
    for (const listener of this.rebootListeners) await listener(record);
  }

  private async bootableEntries(): Promise<BootEntry[]> {
    const entries = await this.loader.entries();
    const present = await Promise.all(
      entries.map(async (e) => (await readOptional(join(this.espDir, e.linux))) !== undefined),
    );
    return entries.filter((_e, i) => present[i]);
  }

  private async ensureEsp(): Promise<void> {
    if ((await this.loader.entries()).length > 0) return;
    await this.ensure('esp/outpost/a/vmlinuz', () => 'simulated kernel a\n');
    await this.ensure('esp/outpost/b/vmlinuz', () => 'simulated kernel b\n');
    await this.loader.writeEntry({
      id: 'outpost-a.conf',
      title: 'Outpost (slot a)',
      version: '0.0.0',
      sortKey: 'outpost',
      linux: '/outpost/a/vmlinuz',
      options: 'root=PARTLABEL=rootfs_a rw',
    });
    await this.loader.setDefault('outpost-a.conf');
  }

  private async ensure(relative: string, content: () => string): Promise<void> {
    const path = join(this.dir, relative);
    if ((await readOptional(path)) !== undefined) return;
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content(), { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}
