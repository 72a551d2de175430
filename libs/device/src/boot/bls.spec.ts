import { describe, expect, it } from '@jest/globals';
import {
  afterBootAttempt,
  compareVersions,
  entryFileName,
  parseEntry,
  parseEntryFileName,
  selectEntry,
  slotOfEntry,
  sortEntries,
  type BootEntry,
} from './bls.js';

function entry(fileName: string, version: string, extra: Partial<BootEntry> = {}): BootEntry {
  return { ...parseEntry(fileName, `title t\nversion ${version}\nsort-key outpost\n`), ...extra };
}

describe('Boot Loader Specification rules', () => {
  it.each([
    ['outpost-a.conf', { id: 'outpost-a.conf' }],
    ['outpost-b+3.conf', { id: 'outpost-b.conf', triesLeft: 3, triesDone: 0 }],
    ['outpost-b+2-1.conf', { id: 'outpost-b.conf', triesLeft: 2, triesDone: 1 }],
    ['outpost-b+0-3.conf', { id: 'outpost-b.conf', triesLeft: 0, triesDone: 3 }],
    ['a+b+1.conf', { id: 'a+b.conf', triesLeft: 1, triesDone: 0 }],
    ['linux-6.1+5.efi', { id: 'linux-6.1.efi', triesLeft: 5, triesDone: 0 }],
    ['odd+x.conf', { id: 'odd+x.conf' }],
  ])('parses the file name %s', (name, want) => expect(parseEntryFileName(name)).toEqual(want));

  it.each([
    ['outpost-b.conf', 3, 0, 'outpost-b+3.conf'],
    ['outpost-b.conf', 2, 1, 'outpost-b+2-1.conf'],
    ['outpost-b.conf', 0, 3, 'outpost-b+0-3.conf'],
    ['outpost-b.conf', undefined, 0, 'outpost-b.conf'],
  ])('names %s with %p tries left, %p done', (id, left, done, want) => {
    expect(entryFileName(id, left, done)).toBe(want);
    expect(parseEntryFileName(want).id).toBe(id);
  });

  it.each([
    ['1.0.0', '1.0.0', 0],
    ['1.10.0', '1.9.0', 1],
    ['1.0.0', '1.0.1', -1],
    ['2', '10', -1],
    ['1.0', '1.0.1', -1],
    ['1.0a', '1.0b', -1],
  ])('compares versions %s vs %s', (a, b, want) => expect(compareVersions(a, b)).toBe(want));

  it('orders the menu like systemd-boot: out-of-tries last, newest version first', () => {
    const sorted = sortEntries([
      entry('outpost-old+0-3.conf', '2.0.0'),
      entry('outpost-a.conf', '1.0.0'),
      entry('outpost-b+3.conf', '1.1.0'),
      entry('other.conf', '9.0.0', { sortKey: '' }),
    ]);
    expect(sorted.map((e) => e.fileName)).toEqual([
      'outpost-b+3.conf',
      'outpost-a.conf',
      'other.conf',
      'outpost-old+0-3.conf',
    ]);
  });

  it.each<[string, string | undefined, string | undefined, string]>([
    ['one-shot wins', 'outpost-a.conf', 'outpost-b+3.conf', 'outpost-b.conf'],
    ['a one-shot is a pattern too', 'outpost-a.conf', 'outpost-b*', 'outpost-b.conf'],
    [
      '252: an id without its counter is not the loader id',
      'outpost-a.conf',
      'outpost-b.conf',
      'outpost-a.conf',
    ],
    [
      '252: nor is a default without the counter (the first of the menu boots)',
      'outpost-c.conf',
      undefined,
      'outpost-b.conf',
    ],
    [
      'an entry out of tries boots if it alone matches the default',
      'outpost-c*',
      undefined,
      'outpost-c.conf',
    ],
    ['matching ignores case, like systemd-boot', 'OUTPOST-A.CONF', undefined, 'outpost-a.conf'],
    ['a missing one-shot falls back to the default', 'outpost-a.conf', 'gone.conf', 'outpost-a.conf'],
    ['an exact default', 'outpost-a.conf', undefined, 'outpost-a.conf'],
    ['a default pattern takes the first match in menu order', 'outpost-*', undefined, 'outpost-b.conf'],
    ['no default: the first of the menu', undefined, undefined, 'outpost-b.conf'],
    ['a default matching nothing: the first of the menu', 'nothing-*', undefined, 'outpost-b.conf'],
  ])('selects the boot entry: %s', (_case, pattern, oneShot, want) => {
    const entries = [
      entry('outpost-a.conf', '1.0.0'),
      entry('outpost-b+3.conf', '1.1.0'),
      entry('outpost-c+0-3.conf', '1.2.0'),
    ];
    expect(selectEntry(entries, pattern, oneShot)?.id).toBe(want);
  });

  it.each([
    ['outpost-b+3.conf', 'outpost-b+2-1.conf'],
    ['outpost-b+1-2.conf', 'outpost-b+0-3.conf'],
    ['outpost-b+0-3.conf', 'outpost-b+0-3.conf'],
    ['outpost-a.conf', 'outpost-a.conf'],
  ])('counts a boot attempt: %s -> %s', (name, want) =>
    expect(afterBootAttempt(parseEntryFileName(name))).toBe(want),
  );

  it.each([
    ['root=PARTLABEL=rootfs_b rw quiet', 'b'],
    ['quiet root=PARTLABEL=rootfs_a', 'a'],
    ['root=/dev/sda2', undefined],
    ['root=PARTLABEL=rootfs_b2x', 'b2x'],
  ])('finds the slot in options %p', (options, want) => expect(slotOfEntry({ options })).toBe(want));

  it('joins repeated options lines and ignores comments', () => {
    const e = parseEntry('x.conf', '# c\ntitle X\noptions root=PARTLABEL=rootfs_a\noptions quiet\n');
    expect(e.options).toBe('root=PARTLABEL=rootfs_a quiet');
    expect(e.title).toBe('X');
  });
});
