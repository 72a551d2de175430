/**
 * The device simulator: a directory that holds what a real node has, so the suite runs anywhere
 * (`npm start`, end-to-end tests). Layout:
 *   etc/machine-id, etc/hostname, sys/class/dmi/id/product_uuid   identity facts
 *   power/boot.json                                              when the device last "booted"
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMachineId, parseProductUuid, type Device, type IdentityFacts } from './device.js';
import { readOptional } from './linux.device.js';

interface BootRecord {
  bootedAt: string;
  bootCount: number;
}

export class SimulatedDevice implements Device {
  readonly kind = 'simulated' as const;

  private constructor(readonly dir: string) {}

  /** Opens the simulator in `dir`, creating a fresh device there if it holds none. */
  static async open(dir: string): Promise<SimulatedDevice> {
    const device = new SimulatedDevice(dir);
    await device.ensure('etc/machine-id', () => `${randomBytes(16).toString('hex')}\n`);
    await device.ensure('etc/hostname', () => `sim-${randomBytes(3).toString('hex')}\n`);
    await device.ensure('sys/class/dmi/id/product_uuid', () => `${randomUUID()}\n`);
    await device.ensure('power/boot.json', () =>
      JSON.stringify({ bootedAt: new Date().toISOString(), bootCount: 1 } satisfies BootRecord),
    );
    return device;
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
    try {
      const record = JSON.parse(await readFile(join(this.dir, 'power/boot.json'), 'utf8')) as BootRecord;
      const seconds = (Date.now() - Date.parse(record.bootedAt)) / 1000;
      return Number.isFinite(seconds) ? Math.max(0, seconds) : undefined;
    } catch {
      return undefined; // missing or half-written boot record: unknown, like an unreadable /proc/uptime
    }
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
