/** A/B slots from GPT partitions: rootfs_a / rootfs_b, the active one named by the boot. */
import type { SlotLayout, SlotTarget } from './device.js';
import type { Partition } from './disk/partitions.js';

export function slotLayout(
  partitions: Partition[],
  activeSlot: string,
  pathOf: (p: Partition) => string,
  offsetOf: (p: Partition) => number,
): SlotLayout {
  const all: SlotTarget[] = partitions
    .filter((p) => /^rootfs_[A-Za-z0-9]+$/.test(p.label))
    .map((p) => ({
      slot: p.label.slice('rootfs_'.length),
      label: p.label,
      path: pathOf(p),
      offset: offsetOf(p),
      size: p.size,
    }));
  if (all.length !== 2) {
    throw new Error(
      `expected two A/B root partitions (rootfs_a, rootfs_b), found ${all.map((s) => s.label).join(', ') || 'none'}`,
    );
  }
  const active = all.find((s) => s.slot === activeSlot);
  if (!active)
    throw new Error(`the booted slot "${activeSlot}" is not one of ${all.map((s) => s.label).join(', ')}`);
  const inactive = all.find((s) => s !== active) as SlotTarget;
  return { active, inactive, all };
}

/** The slot named on the kernel command line (root=PARTLABEL=rootfs_<slot>). */
export function slotFromCmdline(cmdline: string): string | undefined {
  return /(?:^|\s)root=PARTLABEL=rootfs_([A-Za-z0-9]+)(?:\s|$)/.exec(cmdline)?.[1];
}
