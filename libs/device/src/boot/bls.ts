/**
 * Boot Loader Specification rules as systemd-boot applies them, as pure functions: entry file names
 * with Automatic Boot Assessment counters (`name+LEFT-DONE.conf`), type #1 entry files, the menu
 * order, and which entry a boot picks. The simulator boots by these rules, and the LinuxDevice writes
 * by them, so what `bootctl list` shows is what the code believes.
 */

export interface EntryFileName {
  /** The entry id: the file name without the counter (`outpost-b.conf`), as bootctl shows it. */
  id: string;
  /** Tries left; undefined when the entry has no counter (blessed, or never counted). */
  triesLeft?: number;
  /** Tries done; 0 when the name has only `+LEFT`. */
  triesDone?: number;
}

const COUNTER = /^(.*?)\+(\d+)(?:-(\d+))?(\.conf|\.efi)$/;

export function parseEntryFileName(fileName: string): EntryFileName {
  const m = COUNTER.exec(fileName);
  if (!m) return { id: fileName };
  return { id: `${m[1]}${m[4]}`, triesLeft: Number(m[2]), triesDone: m[3] === undefined ? 0 : Number(m[3]) };
}

export function entryFileName(id: string, triesLeft?: number, triesDone = 0): string {
  if (triesLeft === undefined) return id;
  const dot = id.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [id.slice(0, dot), id.slice(dot)] : [id, ''];
  return `${stem}+${triesLeft}${triesDone > 0 ? `-${triesDone}` : ''}${ext}`;
}

/** The fields of a type #1 entry that decide order and the slot it boots. */
export interface BootEntry extends EntryFileName {
  fileName: string;
  title: string;
  version: string;
  sortKey: string;
  machineId: string;
  options: string;
  linux: string;
  /** The first `initrd` line ('' when none). */
  initrd: string;
}

export function parseEntry(fileName: string, text: string): BootEntry {
  const fields = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1];
    // `options` may repeat: systemd-boot joins them with spaces.
    if (key === 'initrd' && fields.has(key)) continue;
    fields.set(key, key === 'options' && fields.has(key) ? `${fields.get(key)} ${m[2]}` : m[2]);
  }
  return {
    ...parseEntryFileName(fileName),
    fileName,
    title: fields.get('title') ?? '',
    version: fields.get('version') ?? '',
    sortKey: fields.get('sort-key') ?? '',
    machineId: fields.get('machine-id') ?? '',
    options: fields.get('options') ?? '',
    linux: fields.get('linux') ?? '',
    initrd: fields.get('initrd') ?? '',
  };
}

export interface EntrySpec {
  id: string;
  title: string;
  version: string;
  sortKey: string;
  linux: string;
  initrd?: string;
  options: string;
}

export function renderEntry(spec: EntrySpec): string {
  return [
    `title ${spec.title}`,
    `version ${spec.version}`,
    `sort-key ${spec.sortKey}`,
    `linux ${spec.linux}`,
    ...(spec.initrd ? [`initrd ${spec.initrd}`] : []),
    `options ${spec.options}`,
    '',
  ].join('\n');
}

/** Version order in the spirit of systemd's strverscmp_improved: numbers by value, text by bytes. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.match(/\d+|[^\d]+/g) ?? [];
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

const isBad = (e: EntryFileName) => e.triesLeft === 0;

/**
 * The menu order of systemd-boot: entries out of tries last; then by sort-key, machine-id, and
 * version and id newest first. (Entries without a sort-key come after those with one.)
 */
export function sortEntries<T extends BootEntry>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => {
    if (isBad(a) !== isBad(b)) return isBad(a) ? 1 : -1;
    if (!a.sortKey !== !b.sortKey) return a.sortKey ? -1 : 1;
    if (a.sortKey !== b.sortKey) return a.sortKey < b.sortKey ? -1 : 1;
    if (a.machineId !== b.machineId) return a.machineId < b.machineId ? -1 : 1;
    const v = compareVersions(b.version, a.version);
    if (v !== 0) return v;
    return compareVersions(b.id, a.id);
  });
}

/** Glob of loader.conf `default` or the one-shot (`*`, `?`), matched case-insensitively like systemd-boot. */
export function matchesPattern(pattern: string, id: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(id);
}

/**
 * What systemd-boot 252 calls an entry: its file name, lowercased, boot counter included
 * (`outpost-b+3.conf`). It matches the one-shot and the `default` against that, and reports it as
 * LoaderEntrySelected; bootctl (user space) shows the id without the counter. So a one-shot of
 * `outpost-b.conf` does not select `outpost-b+3.conf` on this firmware side: the one-shot must name the
 * file as it is when the machine boots.
 */
export function loaderIdOf(entry: Pick<BootEntry, 'fileName'>): string {
  return entry.fileName.toLowerCase();
}

/**
 * The entry a boot picks, as systemd-boot 252 does: the first entry in menu order whose loader id
 * (file name with counter) matches the one-shot, else the first matching the default, else the first.
 * An entry out of tries is only sorted last: if it is the only match of the default, it boots again.
 */
export function selectEntry<T extends BootEntry>(
  entries: readonly T[],
  defaultPattern?: string,
  oneShot?: string,
): T | undefined {
  const sorted = sortEntries(entries);
  for (const pattern of [oneShot, defaultPattern]) {
    if (!pattern) continue;
    const chosen = sorted.find((e) => matchesPattern(pattern, loaderIdOf(e)));
    if (chosen) return chosen;
  }
  return sorted[0];
}

/** The file name after one boot attempt: one try fewer, one more done (unchanged without a counter). */
export function afterBootAttempt(entry: EntryFileName): string {
  if (entry.triesLeft === undefined) return entry.id;
  if (entry.triesLeft === 0) return entryFileName(entry.id, 0, entry.triesDone ?? 0);
  return entryFileName(entry.id, entry.triesLeft - 1, (entry.triesDone ?? 0) + 1);
}

/** The slot an entry boots, from `root=PARTLABEL=rootfs_<slot>` in its options. */
export function slotOfEntry(entry: Pick<BootEntry, 'options'>): string | undefined {
  return /(?:^|\s)root=PARTLABEL=rootfs_([A-Za-z0-9]+)(?:\s|$)/.exec(entry.options)?.[1];
}
