/**
 * The boot entry an update writes for its slot, and where its boot files go. Convention (as the
 * simulator and the image build lay out the ESP): entry id `outpost-<slot>.conf`, kernel at
 * /outpost/<slot>/vmlinuz, initrd (when the update has one) at /outpost/<slot>/initrd.img, the active
 * entry's kernel options with the root= partition label swapped for the new slot's. Each slot has its
 * own files, so writing the target slot's never touches what the running slot boots.
 */
import { slotOfEntry, type BootEntry, type EntrySpec } from '@outpost/device';

export function entryIdFor(slot: string): string {
  return `outpost-${slot}.conf`;
}

const ROOT = /(^|\s)root=PARTLABEL=rootfs_[A-Za-z0-9]+(?=\s|$)/;

/** ESP path (from the ESP root) of a slot's boot file, e.g. `/outpost/b/vmlinuz`. */
export function bootFilePath(slot: string, name: string): string {
  return `/outpost/${slot}/${name}`;
}

export function entrySpecFor(
  slot: string,
  version: string,
  activeEntry?: Pick<BootEntry, 'options'>,
  files: { initrd?: boolean } = {},
): EntrySpec {
  const root = `root=PARTLABEL=rootfs_${slot}`;
  const base = activeEntry?.options.trim() || `${root} rw`;
  const options = ROOT.test(base) ? base.replace(ROOT, `$1${root}`) : `${root} ${base}`;
  return {
    id: entryIdFor(slot),
    title: `Outpost ${version} (slot ${slot})`,
    version,
    sortKey: 'outpost',
    linux: bootFilePath(slot, 'vmlinuz'),
    ...(files.initrd ? { initrd: bootFilePath(slot, 'initrd.img') } : {}),
    options,
  };
}

/** The boot files an entry loads (kernel, initrd), as ESP paths. */
export function filesOfEntry(entry: Pick<BootEntry, 'linux' | 'initrd'>): string[] {
  return [entry.linux, entry.initrd].filter(Boolean).map((p) => `/${p.replace(/^\/+/, '')}`);
}

/** The entries that boot `slot` (whatever their id): the ones to make unbootable before writing it. */
export function entriesBooting<T extends Pick<BootEntry, 'options'>>(
  entries: readonly T[],
  slot: string,
): T[] {
  return entries.filter((e) => slotOfEntry(e) === slot);
}

/** A usable entry of `slot` (not out of tries), to fall back to or to keep as the default. */
export function bootableEntryOf<T extends Pick<BootEntry, 'options' | 'triesLeft'>>(
  entries: readonly T[],
  slot: string,
): T | undefined {
  return entriesBooting(entries, slot).find((e) => e.triesLeft !== 0);
}
