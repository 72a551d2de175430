/**
 * systemd-boot's configuration on an ESP, read and written per the Boot Loader Specification: type #1
 * entries in loader/entries (with boot-counting names), the `default` of loader/loader.conf, and the
 * one-shot next boot (an EFI variable on real hardware, a file in the simulator), and the boot files
 * of a slot. Reads are direct; every write goes through an EspWriter (direct, or the root-side helper
 * on a real node), FAT-safe: written and fsynced under a temporary name, then renamed into place.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  entryFileName,
  loaderIdOf,
  parseEntry,
  parseEntryFileName,
  renderEntry,
  type BootEntry,
  type EntrySpec,
} from './bls.js';
import { DirectEspWriter, type EspWriter } from './esp-writer.js';

/**
 * Where the one-shot entry is kept: the LoaderEntryOneShot EFI variable, or a simulator file. It holds
 * the value systemd-boot matches, i.e. the entry's loader id (file name with counter on 252).
 */
export interface OneShotStore {
  get(): Promise<string | undefined>;
  set(value: string): Promise<void>;
  clear(): Promise<void>;
}

const ENTRIES = 'loader/entries';
const LOADER_CONF = 'loader/loader.conf';

export class EspBootLoader {
  constructor(
    readonly espDir: string,
    private readonly oneShotStore: OneShotStore,
    private readonly writer: EspWriter = new DirectEspWriter(espDir),
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
    const path = join(this.espDir, LOADER_CONF);
    // Only a missing file starts afresh: an unreadable one (an ESP mounted root-only) must not be
    // replaced by a loader.conf that forgot its settings.
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return 'timeout 3\n';
      throw err;
    });
    const lines = text.split('\n').filter((l) => !/^\s*default\s/.test(l) && l.trim() !== '');
    await this.writer.write(LOADER_CONF, [`default ${id}`, ...lines, ''].join('\n'));
  }

  /** The one-shot as the boot loader will read it (a loader id or pattern), for the simulated firmware. */
  oneShotValue(): Promise<string | undefined> {
    return this.oneShotStore.get();
  }

  /** The entry id (counter stripped) the one-shot names, whatever form the variable holds. */
  async oneShot(): Promise<string | undefined> {
    const value = await this.oneShotStore.get();
    return value ? parseEntryFileName(value).id : undefined;
  }

  /**
   * Makes entry `id` the next boot, once. The variable gets the entry's file name as it is now
   * (`outpost-b+3.conf`): systemd-boot 252 matches the one-shot against ids that keep the counter.
   */
  async setOneShot(id: string): Promise<void> {
    const entry = await this.find(id);
    if (!entry) throw new Error(`no boot entry ${id} in ${this.entriesDir}`);
    await this.oneShotStore.set(loaderIdOf(entry));
  }

  clearOneShot(): Promise<void> {
    return this.oneShotStore.clear();
  }

  /**
   * Writes an entry with `tries` boot attempts (undefined: no counting). Any earlier file of the same
   * id (with another counter) is removed after the new one is in place.
   */
  async writeEntry(spec: EntrySpec, tries?: number): Promise<BootEntry> {
    const previous = (await this.entries()).filter((e) => e.id === spec.id);
    const fileName = entryFileName(spec.id, tries);
    await this.writer.write(`${ENTRIES}/${fileName}`, renderEntry(spec));
    for (const old of previous)
      if (old.fileName !== fileName) await this.writer.remove(`${ENTRIES}/${old.fileName}`);
    return parseEntry(fileName, renderEntry(spec));
  }

  /**
   * Puts a boot file on the ESP at `path` (relative to the ESP root, e.g. `outpost/b/vmlinuz`),
   * atomically, after checking that what reached the ESP hashes to `sha256`.
   */
  installFile(
    path: string,
    source: string,
    sha256: string,
    hooks?: { beforeRename?: () => void },
  ): Promise<void> {
    return this.writer.copy(path.replace(/^\/+/, ''), source, sha256, hooks);
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
      await this.writer.remove(`${ENTRIES}/${e.fileName}`);
  }

  /** Renames an entry's file per systemd-boot's counting when it boots it (the simulator's job). */
  async renameEntryFile(fromFileName: string, toFileName: string): Promise<void> {
    if (fromFileName === toFileName) return;
    await this.writer.rename(`${ENTRIES}/${fromFileName}`, `${ENTRIES}/${toFileName}`);
  }

  private async renameCounter(id: string, to: (e: BootEntry) => string): Promise<void> {
    const entry = await this.find(id);
    if (!entry) throw new Error(`no boot entry ${id} in ${this.entriesDir}`);
    await this.renameEntryFile(entry.fileName, to(entry));
  }
}

export { parseEntryFileName };
