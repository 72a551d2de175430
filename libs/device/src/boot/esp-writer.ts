/**
 * The writes to the ESP, behind one interface, because on a real node they need privilege the update
 * agent does not have: written directly (the simulator; a node where the agent runs as root), or
 * handed to the root-side helper (`outpost-boot@<op>.service`, see boot-helper.ts). Paths are relative
 * to the ESP root, with `/` separators. Every write is FAT-safe: a temporary file is written and
 * fsynced, renamed into place, and the directory fsynced.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface EspWriter {
  /** Writes `content` to `path` atomically (parents created). */
  write(path: string, content: string): Promise<void>;
  /**
   * Copies the file `source` to `path` atomically, checking that the bytes that reached the ESP hash
   * to `sha256` before they are renamed into place. `beforeRename` is a test hook (kill -9 there).
   */
  copy(path: string, source: string, sha256: string, hooks?: { beforeRename?: () => void }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
}

/** The name a file is written under before it is renamed into place. */
export const TEMP_SUFFIX = '.outpost-new';

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/** Writes the ESP tree with the process's own rights. */
export class DirectEspWriter implements EspWriter {
  constructor(readonly espDir: string) {}

  async write(path: string, content: string): Promise<void> {
    const target = this.resolve(path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}${TEMP_SUFFIX}`;
    const file = await open(tmp, 'w', 0o644);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await this.commit(tmp, target);
  }

  async copy(path: string, source: string, sha256: string, hooks: { beforeRename?: () => void } = {}) {
    const target = this.resolve(path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}${TEMP_SUFFIX}`;
    const out = await open(tmp, 'w', 0o644);
    try {
      for await (const chunk of createReadStream(source) as AsyncIterable<Buffer>) await out.write(chunk);
      await out.sync();
    } finally {
      await out.close();
    }
    // Read back what the file system holds, not what was meant to be written.
    const written = await sha256Of(tmp);
    if (written !== sha256) {
      await rm(tmp, { force: true });
      throw new Error(`${path} on the ESP hashes ${written}, expected ${sha256}`);
    }
    hooks.beforeRename?.();
    await this.commit(tmp, target);
  }

  async rename(from: string, to: string): Promise<void> {
    if (from === to) return;
    await rename(this.resolve(from), this.resolve(to));
    await syncDir(dirname(this.resolve(to)));
  }

  async remove(path: string): Promise<void> {
    await rm(this.resolve(path), { force: true });
    await syncDir(dirname(this.resolve(path))).catch(() => undefined);
  }

  private async commit(tmp: string, target: string): Promise<void> {
    await rename(tmp, target);
    await syncDir(dirname(target));
  }

  private resolve(path: string): string {
    if (path.startsWith('/') || path.split('/').includes('..'))
      throw new Error(`ESP path ${JSON.stringify(path)}: must be relative, without ..`);
    return join(this.espDir, path);
  }
}
