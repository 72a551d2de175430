/**
 * The real host: /etc/machine-id, /sys/class/dmi/id, /proc/uptime under a root (default /); the A/B
 * slots from the GPT labels of the boot disk (`lsblk`), written through /dev/disk/by-partlabel; the
 * ESP at /efi, /boot/efi or /boot (the first holding loader/); the one-shot boot in the
 * LoaderEntryOneShot EFI variable; `systemctl reboot` (logind, allowed by polkit).
 * ESP writes and the one-shot need root: with `privilege: 'helper'` (an unprivileged agent under its
 * unit) they go to the root-side boot helper (boot/boot-helper.ts), with 'direct' (running as root)
 * the process does them itself (`bootctl set-oneshot`).
 */
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BootHelper, HelperEspWriter, HelperOneShot, type HelperRunner } from './boot/boot-helper.js';
import { EspBootLoader, type OneShotStore } from './boot/esp-boot-loader.js';
import { DirectEspWriter } from './boot/esp-writer.js';
import {
  parseMachineId,
  parseProductUuid,
  type Device,
  type IdentityFacts,
  type SlotLayout,
} from './device.js';
import type { Partition } from './disk/partitions.js';
import { slotFromCmdline, slotLayout } from './slots.js';

const run = promisify(execFile);
const ONESHOT_VAR = 'LoaderEntryOneShot-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f';

/** An EFI variable of the boot loader from efivarfs: 4 attribute bytes, then UTF-16LE. */
export async function readLoaderVariable(name: string, dir = '/sys/firmware/efi/efivars') {
  const raw = await readFile(join(dir, name)).catch(() => undefined);
  if (!raw || raw.length <= 4) return undefined;
  return raw.subarray(4).toString('utf16le').replace(/\0+$/, '') || undefined;
}

/** LoaderEntryOneShot through bootctl (set: root only) and efivarfs (read). */
class EfiOneShot implements OneShotStore {
  get() {
    return readLoaderVariable(ONESHOT_VAR);
  }
  async set(id: string) {
    await run('bootctl', ['set-oneshot', id]);
  }
  async clear() {
    await run('bootctl', ['set-oneshot', '']);
  }
}

export interface LinuxDeviceOptions {
  productUuidFile?: string;
  /** The ESP mount (default /efi; see LinuxDevice.findEsp). */
  espDir?: string;
  /** 'direct': this process writes the ESP and the EFI variable (root); 'helper': the root-side helper. */
  privilege?: 'direct' | 'helper';
  /** Where requests to the helper are written (the helper reads /var/lib/outpost/update/boot-helper). */
  helperDir?: string;
  /** How the helper is run (default: `systemctl start outpost-boot@<op>.service`); tests run the script. */
  runHelper?: HelperRunner;
  /** efivarfs (default /sys/firmware/efi/efivars). */
  efivarsDir?: string;
}

export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    // Missing or unreadable (product_uuid is root-only on many hosts): the fact is simply absent.
    return undefined;
  }
}

export class LinuxDevice implements Device {
  readonly kind = 'linux' as const;
  readonly bootFilesRequired = true;

  private loader?: EspBootLoader;

  constructor(
    private readonly root = '/',
    private readonly options: LinuxDeviceOptions = {},
  ) {}

  async identityFacts(): Promise<IdentityFacts> {
    const [machineId, productUuid] = await Promise.all([
      readOptional(join(this.root, 'etc/machine-id')),
      readOptional(this.options.productUuidFile ?? join(this.root, 'sys/class/dmi/id/product_uuid')),
    ]);
    return {
      machineId: parseMachineId(machineId),
      productUuid: parseProductUuid(productUuid),
      hostname: hostname(),
    };
  }

  async hostUptimeSeconds(): Promise<number | undefined> {
    const text = await readOptional(join(this.root, 'proc/uptime'));
    const seconds = Number(text?.split(/\s+/)[0]);
    return Number.isFinite(seconds) ? seconds : undefined;
  }

  async slots(): Promise<SlotLayout> {
    const cmdline = (await readOptional(join(this.root, 'proc/cmdline'))) ?? '';
    const active = slotFromCmdline(cmdline);
    if (!active)
      throw new Error(
        'this boot names no A/B slot (no root=PARTLABEL=rootfs_<slot> on the kernel command line)',
      );
    const { stdout } = await run('lsblk', [
      '--json',
      '--bytes',
      '--output',
      'PATH,PARTLABEL,SIZE,PARTUUID,PARTTYPE',
    ]);
    const devices = (
      JSON.parse(stdout) as {
        blockdevices: {
          path: string;
          partlabel: string | null;
          size: number;
          partuuid: string | null;
          parttype: string | null;
        }[];
      }
    ).blockdevices;
    const partitions: Partition[] = devices
      .filter((d) => d.partlabel)
      .map((d) => ({
        label: d.partlabel ?? '',
        offset: 0,
        size: Number(d.size),
        type: d.parttype ?? '',
        uuid: d.partuuid ?? '',
        node: d.path,
      }));
    return slotLayout(
      partitions,
      active,
      (p) => `/dev/disk/by-partlabel/${p.label}`,
      () => 0,
    );
  }

  bootLoader(): EspBootLoader {
    if (this.loader) return this.loader;
    const esp = this.options.espDir ?? '/efi';
    const helperDir = this.options.helperDir;
    if (this.options.privilege === 'helper') {
      if (!helperDir) throw new Error('LinuxDevice: privilege "helper" needs helperDir');
      const helper = new BootHelper(helperDir, this.options.runHelper);
      const read = () => readLoaderVariable(ONESHOT_VAR, this.options.efivarsDir);
      this.loader = new EspBootLoader(esp, new HelperOneShot(helper, read), new HelperEspWriter(helper));
    } else {
      this.loader = new EspBootLoader(esp, new EfiOneShot(), new DirectEspWriter(esp));
    }
    return this.loader;
  }

  /** Finds the ESP (/efi, /boot/efi, /boot: the first holding loader/); the configured one wins. */
  static async findEsp(candidates = ['/efi', '/boot/efi', '/boot']): Promise<string | undefined> {
    for (const dir of candidates) {
      if (
        await access(join(dir, 'loader')).then(
          () => true,
          () => false,
        )
      )
        return dir;
    }
    return undefined;
  }

  async reboot(reason: string): Promise<void> {
    void reason; // logged by the caller; systemd 252's systemctl has no reboot message option
    await run('systemctl', ['reboot']);
  }
}
