/**
 * The boot entry an update writes for its slot. Convention (as the simulator and the image build lay
 * out the ESP): entry id `outpost-<slot>.conf`, kernel at /outpost/<slot>/vmlinuz, the active entry's
 * kernel options with the root= partition label swapped for the new slot's.
 */
import { slotOfEntry, type BootEntry, type EntrySpec } from '@outpost/device';

export function entryIdFor(slot: string): string {
  return `outpost-${slot}.conf`;
}

const ROOT = /(^|\s)root=PARTLABEL=rootfs_[A-Za-z0-9]+(?=\s|$)/;

export function entrySpecFor(
  slot: string,
  version: string,
  activeEntry?: Pick<BootEntry, 'options'>,
): EntrySpec {
  const root = `root=PARTLABEL=rootfs_${slot}`;
  const base = activeEntry?.options.trim() || `${root} rw`;
  const options = ROOT.test(base) ? base.replace(ROOT, `$1${root}`) : `${root} ${base}`;
  return {
    id: entryIdFor(slot),
    title: `Outpost ${version} (slot ${slot})`,
    version,
    sortKey: 'outpost',
    linux: `/outpost/${slot}/vmlinuz`,
    options,
  };
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
