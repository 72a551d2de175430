/**
 * The node's machine, behind one interface: the real Linux host, or a simulator kept in a directory.
 * Agents never know which one they have: identity facts, uptime, the A/B slots, the boot loader
 * (systemd-boot on the ESP) and power.
 */
import type { EspBootLoader } from './boot/esp-boot-loader.js';

/** Facts a node identity is derived from. */
export interface IdentityFacts {
  /** /etc/machine-id (32 lowercase hex), if present and valid. */
  machineId?: string;
  /** DMI product UUID, if the firmware provides a real (non-placeholder) one and it is readable. */
  productUuid?: string;
  hostname: string;
}

/** One A/B slot and where its bytes are: a block device (offset 0) or a region of a disk image. */
export interface SlotTarget {
  /** `a` or `b` (from the GPT label rootfs_<slot>). */
  slot: string;
  label: string;
  path: string;
  offset: number;
  size: number;
}

export interface SlotLayout {
  active: SlotTarget;
  inactive: SlotTarget;
  all: SlotTarget[];
}

export interface Device {
  readonly kind: 'linux' | 'simulated';
  /**
   * Whether an update must bring the new slot's boot files (kernel, initrd). A real node boots the
   * kernel its entry names from the ESP: without new files it would boot a stale kernel (or none) with
   * the new root file system. The simulator boots no kernel, so an image-only update is enough there.
   */
  readonly bootFilesRequired: boolean;
  identityFacts(): Promise<IdentityFacts>;
  /** Seconds since the host (or simulated device) booted. */
  hostUptimeSeconds(): Promise<number | undefined>;
  /** The A/B slots from the GPT labels, and which one this boot runs from. */
  slots(): Promise<SlotLayout>;
  /** systemd-boot's entries, default and one-shot on the ESP. */
  bootLoader(): EspBootLoader;
  /** Reboots the machine (the simulator picks the next entry like systemd-boot and "boots" it). */
  reboot(reason: string): Promise<void>;
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
