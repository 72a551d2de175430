/**
 * Durable writes that survive kill -9 and power loss at any point: write a temp file in the same
 * directory, fsync it, rename it over the target, fsync the directory. A reader sees the old content
 * or the new, never a torn file.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const file = await open(tmp, 'w', mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/** A versioned JSON document: `{ version, data }`, so a later format can migrate an earlier one. */
export interface Versioned<T> {
  version: number;
  data: T;
}

export async function writeJsonAtomic<T>(path: string, version: number, data: T): Promise<void> {
  const doc: Versioned<T> = { version, data };
  await writeFileAtomic(path, `${JSON.stringify(doc, null, 2)}\n`);
}

/** Reads a versioned JSON document; undefined if there is none. Throws on a corrupt one. */
export async function readJson<T>(path: string): Promise<Versioned<T> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const doc = JSON.parse(text) as Versioned<T>;
  if (typeof doc !== 'object' || doc === null || typeof doc.version !== 'number' || !('data' in doc)) {
    throw new Error(`${path}: not a versioned state document`);
  }
  return doc;
}
