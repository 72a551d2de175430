/**
 * systemd-boot's configuration on an ESP, read and written per the Boot Loader Specification: type #1
 * entries in loader/entries (with boot-counting names), the `default` of loader/loader.conf, and the
 * one-shot next boot (an EFI variable on real hardware, a file in the simulator). Every write is
 * FAT-safe: a new file is written and fsynced under a temporary name, then renamed into place.
 */
import { open, readdir, readFile, rename, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  entryFileName,
  parseEntry,
  parseEntryFileName,
  renderEntry,
  type BootEntry,
  type EntrySpec,
} from './bls.js';

/** Where the one-shot entry id is kept: the LoaderEntryOneShot EFI variable, or a simulator file. */
export interface OneShotStore {
  get(): Promise<string | undefined>;
  set(id: string): Promise<void>;
  clear(): Promise<void>;
}

async function writeDurably(path: string, content: string): Promise<void> {
  const tmp = `${path}.new`;
  const file = await open(tmp, 'w', 0o644);
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  await syncDir(join(path, '..'));
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class EspBootLoader {
  constructor(
    readonly espDir: string,
    private readonly oneShotStore: OneShotStore,
  ) {}

  private get entriesDir(): string {
    return join(this.espDir, 'loader', 'entries');
  }

  async entries(): Promise<BootEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.entriesDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const files = names.filter((n) => n.endsWith('.conf') && !n.startsWith('.'));
    return Promise.all(
      files.map(async (n) => parseEntry(n, await readFile(join(this.entriesDir, n), 'utf8'))),
    );
  }

  async find(id: string): Promise<BootEntry | undefined> {
    return (await this.entries()).find((e) => e.id === id);
  }

  async defaultPattern(): Promise<string | undefined> {
    const text = await readFile(join(this.espDir, 'loader', 'loader.conf'), 'utf8').catch(() => '');
    return /^\s*default\s+(\S+)\s*$/m.exec(text)?.[1];
  }

  async setDefault(id: string): Promise<void> {
    const path = join(this.espDir, 'loader', 'loader.conf');
    const text = await readFile(path, 'utf8').catch(() => 'timeout 3\n');
    const lines = text.split('\n').filter((l) => !/^\s*default\s/.test(l) && l.trim() !== '');
    await writeDurably(path, [`default ${id}`, ...lines, ''].join('\n'));
  }

  oneShot(): Promise<string | undefined> {
    return this.oneShotStore.get();
  }

  setOneShot(id: string): Promise<void> {
    return this.oneShotStore.set(id);
  }

  clearOneShot(): Promise<void> {
    return this.oneShotStore.clear();
  }

  /**
   * Writes an entry with `tries` boot attempts (undefined: no counting). Any earlier file of the same
   * id (with another counter) is removed after the new one is in place.
   */
  async writeEntry(spec: EntrySpec, tries?: number): Promise<BootEntry> {
    await mkdir(this.entriesDir, { recursive: true });
    const previous = (await this.entries()).filter((e) => e.id === spec.id);
    const fileName = entryFileName(spec.id, tries);
    await writeDurably(join(this.entriesDir, fileName), renderEntry(spec));
    for (const old of previous)
      if (old.fileName !== fileName) await rm(join(this.entriesDir, old.fileName), { force: true });
    await syncDir(this.entriesDir);
    return parseEntry(fileName, renderEntry(spec));
  }

  /** Makes an entry permanent: the counter goes, it is good. */
  async bless(id: string): Promise<void> {
    await this.renameCounter(id, (e) => e.id);
  }

  /** Marks an entry bad (`+0-N`): systemd-boot sorts it last and never picks it by default. */
  async markBad(id: string): Promise<void> {
    await this.renameCounter(id, (e) =>
      entryFileName(e.id, 0, Math.max(1, (e.triesDone ?? 0) + (e.triesLeft ?? 0))),
    );
  }

  async remove(id: string): Promise<void> {
    for (const e of (await this.entries()).filter((x) => x.id === id))
      await rm(join(this.entriesDir, e.fileName), { force: true });
    await syncDir(this.entriesDir);
  }

  /** Renames an entry's file per systemd-boot's counting when it boots it (the simulator's job). */
  async renameEntryFile(fromFileName: string, toFileName: string): Promise<void> {
    if (fromFileName === toFileName) return;
    await rename(join(this.entriesDir, fromFileName), join(this.entriesDir, toFileName));
    await syncDir(this.entriesDir);
  }

  private async renameCounter(id: string, to: (e: BootEntry) => string): Promise<void> {
    const entry = await this.find(id);
    if (!entry) throw new Error(`no boot entry ${id} in ${this.entriesDir}`);
    await this.renameEntryFile(entry.fileName, to(entry));
  }
}

export { parseEntryFileName };
