/**
 * Writes an image file into a slot target (a block device, or a region of a disk image at an offset)
 * in one pass: large buffers, the next read overlapping the current hash and write, fsync at the end;
 * then reads the region back and hashes it again. Never writes beyond the target's size, never
 * anywhere but [offset, offset + image size).
 */
import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';

export interface WriteTarget {
  path: string;
  offset: number;
  size: number;
}

export interface WriteOptions {
  /** Buffer size (default 4 MiB). */
  bufferSize?: number;
  signal?: AbortSignal;
  onProgress?: (bytes: number, total: number) => void;
  /** Called once after the first buffer is written (test hook for kill -9 mid-write). */
  afterFirstWrite?: () => void;
}

export interface WriteResult {
  bytes: number;
  /** SHA-256 of the bytes read from the image file while writing them. */
  sha256: string;
}

export class ImageTooLargeError extends Error {
  override readonly name = 'ImageTooLargeError';
}

const MiB = 1024 * 1024;

async function readFull(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function writeFull(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    done += bytesWritten;
  }
}

/** Streams `imagePath` to `target` (opened 'r+': never created or truncated) and fsyncs it. */
export async function writeImageToTarget(
  imagePath: string,
  target: WriteTarget,
  options: WriteOptions = {},
): Promise<WriteResult> {
  const bufferSize = options.bufferSize ?? 4 * MiB;
  const total = (await stat(imagePath)).size;
  if (total > target.size)
    throw new ImageTooLargeError(
      `the image (${total} bytes) is larger than the slot ${target.path}@${target.offset} (${target.size} bytes)`,
    );
  const hash = createHash('sha256');
  const src = await open(imagePath, 'r');
  try {
    const dst = await open(target.path, 'r+');
    try {
      const buffers = [Buffer.allocUnsafe(bufferSize), Buffer.allocUnsafe(bufferSize)];
      let position = 0;
      let index = 0;
      let pending = readFull(src, buffers[0], Math.min(bufferSize, total), 0);
      while (position < total) {
        options.signal?.throwIfAborted();
        const length = await pending;
        if (length === 0) throw new Error(`${imagePath} ended at ${position} of ${total} bytes`);
        const buf = buffers[index];
        const next = position + length;
        // Read ahead into the other buffer while this one is hashed and written.
        index = 1 - index;
        pending =
          next < total
            ? readFull(src, buffers[index], Math.min(bufferSize, total - next), next)
            : Promise.resolve(0);
        hash.update(buf.subarray(0, length));
        await writeFull(dst, buf, length, target.offset + position);
        if (position === 0) options.afterFirstWrite?.();
        position = next;
        options.onProgress?.(position, total);
      }
      await pending;
      await dst.sync();
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
  return { bytes: total, sha256: hash.digest('hex') };
}

/** SHA-256 of `length` bytes of `path` from `offset` (the read-back of a written slot). */
export async function hashRegion(
  path: string,
  offset: number,
  length: number,
  options: { bufferSize?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const bufferSize = options.bufferSize ?? 4 * MiB;
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buffers = [Buffer.allocUnsafe(bufferSize), Buffer.allocUnsafe(bufferSize)];
    let position = 0;
    let index = 0;
    let pending = readFull(fh, buffers[0], Math.min(bufferSize, length), offset);
    while (position < length) {
      options.signal?.throwIfAborted();
      const n = await pending;
      if (n === 0) throw new Error(`${path} ended at ${offset + position}, expected ${length} bytes`);
      const buf = buffers[index];
      const next = position + n;
      index = 1 - index;
      pending =
        next < length
          ? readFull(fh, buffers[index], Math.min(bufferSize, length - next), offset + next)
          : Promise.resolve(0);
      hash.update(buf.subarray(0, n));
      position = next;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/**
 * The bench entry point: installs an image file to a target the way the agent does (write + fsync,
 * then read back and compare). Returns the bytes and the hash; throws if the read-back differs.
 */
export async function installImageFile(
  imagePath: string,
  target: WriteTarget,
  options: WriteOptions = {},
): Promise<WriteResult> {
  const written = await writeImageToTarget(imagePath, target, options);
  const back = await hashRegion(target.path, target.offset, written.bytes, options);
  if (back !== written.sha256)
    throw new Error(`read-back of ${target.path}@${target.offset} hashes ${back}, wrote ${written.sha256}`);
  return written;
}
