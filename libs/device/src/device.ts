/**
 * The node's machine, behind one interface: the real Linux host, or a simulator kept in a directory.
 * Agents never know which one they have. (Slots, boot loader and power join this interface with the
 * platform-update work.)
 */

/** Facts a node identity is derived from. */
export interface IdentityFacts {
  /** /etc/machine-id (32 lowercase hex), if present and valid. */
  machineId?: string;
  /** DMI product UUID, if the firmware provides a real (non-placeholder) one and it is readable. */
  productUuid?: string;
  hostname: string;
}

export interface Device {
  readonly kind: 'linux' | 'simulated';
  identityFacts(): Promise<IdentityFacts>;
  /** Seconds since the host (or simulated device) booted. */
  hostUptimeSeconds(): Promise<number | undefined>;
}

const MACHINE_ID = /^[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Values firmware vendors ship when they did not set a UUID. */
const PLACEHOLDER_UUIDS = new Set([
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '03000200-0400-0500-0006-000700080009',
]);

export function parseMachineId(text: string | undefined): string | undefined {
  const value = text?.trim().toLowerCase();
  return value && MACHINE_ID.test(value) && !/^0+$/.test(value) ? value : undefined;
}

export function parseProductUuid(text: string | undefined): string | undefined {
  const value = text?.trim().toLowerCase();
  return value && UUID.test(value) && !PLACEHOLDER_UUIDS.has(value) ? value : undefined;
}
