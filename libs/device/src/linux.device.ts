/** The real host: /etc/machine-id, /sys/class/dmi/id, /proc/uptime under a root (default /). */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseMachineId, parseProductUuid, type Device, type IdentityFacts } from './device.js';

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

  constructor(
    private readonly root = '/',
    private readonly options: { productUuidFile?: string } = {},
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
}
