/** The boot entry written for a new slot, and which entries boot a slot. */
import { describe, expect, it } from '@jest/globals';
import {
  bootableEntryOf,
  bootFilePath,
  entriesBooting,
  entryIdFor,
  entrySpecFor,
  filesOfEntry,
} from './boot-entry.js';

describe('boot entries of a slot', () => {
  it.each([
    [undefined, 'root=PARTLABEL=rootfs_b rw'],
    [{ options: 'root=PARTLABEL=rootfs_a rw quiet' }, 'root=PARTLABEL=rootfs_b rw quiet'],
    [{ options: 'quiet root=PARTLABEL=rootfs_a' }, 'quiet root=PARTLABEL=rootfs_b'],
    [{ options: 'quiet' }, 'root=PARTLABEL=rootfs_b quiet'],
  ])('from active entry %j the new entry boots with %s', (active, options) => {
    expect(entrySpecFor('b', '1.2.0', active)).toEqual({
      id: 'outpost-b.conf',
      title: 'Outpost 1.2.0 (slot b)',
      version: '1.2.0',
      sortKey: 'outpost',
      linux: '/outpost/b/vmlinuz',
      options,
    });
  });

  it("points an update with an initrd at the target slot's own files, never the active slot's", () => {
    const spec = entrySpecFor('a', '2.0.0', { options: 'root=PARTLABEL=rootfs_b rw' }, { initrd: true });
    expect(spec).toMatchObject({ linux: '/outpost/a/vmlinuz', initrd: '/outpost/a/initrd.img' });
    expect(filesOfEntry({ linux: spec.linux, initrd: spec.initrd ?? '' })).toEqual([
      bootFilePath('a', 'vmlinuz'),
      bootFilePath('a', 'initrd.img'),
    ]);
    expect(filesOfEntry({ linux: 'outpost/b/vmlinuz', initrd: '' })).toEqual(['/outpost/b/vmlinuz']);
  });

  it('finds the entries that boot a slot, and a bootable one', () => {
    const entries = [
      { id: 'outpost-a.conf', options: 'root=PARTLABEL=rootfs_a rw', triesLeft: undefined },
      { id: 'old-b.conf', options: 'root=PARTLABEL=rootfs_b', triesLeft: 0 },
      { id: 'outpost-b.conf', options: 'root=PARTLABEL=rootfs_b rw', triesLeft: 2 },
    ];
    expect(entriesBooting(entries, 'b').map((e) => e.id)).toEqual(['old-b.conf', 'outpost-b.conf']);
    expect(bootableEntryOf(entries, 'b')?.id).toBe('outpost-b.conf');
    expect(bootableEntryOf(entries, 'c')).toBeUndefined();
    expect(entryIdFor('a')).toBe('outpost-a.conf');
  });
});
