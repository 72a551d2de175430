/**
 * Downloads an image into the staging directory in one pass: HTTP(S) with Range resume after an
 * interruption (also across agent restarts), .gz decompressed in the stream, SHA-256 and size of the
 * decompressed image checked as the bytes arrive. Free space is checked before anything is fetched.
 *
 *   <dir>/image.part        the image so far (raw: the served bytes; gz: what they inflate to)
 *   <dir>/download.gz.part  gz only: the compressed bytes so far (a resume replays them locally)
 *   <dir>/staged.img        the complete, verified image (renamed into place, then fsynced)
 * The boot files of an update go the same way under their own names (`DownloadSpec.name`):
 *   <dir>/boot-<name>.part, boot-<name>.compressed.part, boot-<name>.staged
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';

import { hashRegion } from './slot-writer.js';

export type DownloadFailure = 'download' | 'insufficient-storage' | 'checksum' | 'unsupported-format';

/** A failure that retrying cannot fix; `reason` is the update's failure reason. */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(
    readonly reason: DownloadFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface DownloadSpec {
  url: string;
  /** raw, or compressed and decompressed in the stream: gzip (zlib) or xz (xz-decompress, WebAssembly). */
  format: 'raw' | 'gz' | 'xz';
  /** Bytes and SHA-256 of the decompressed image. */
  size: number;
  sha256: string;
  dir: string;
  attempts: number;
  idleTimeoutMs: number;
  /** A boot file's name (`vmlinuz`, `initrd.img`): staged as boot-<name>.*; absent: the image. */
  name?: string;
}

export interface DownloadHooks {
  signal?: AbortSignal;
  /** Image bytes so far; `resumedFrom`: bytes already there when this run started. */
  onProgress?: (bytes: number, total: number, resumedFrom: number) => void;
  /** Once, when at least half the image (or 1 MiB) is on disk: the kill -9 test hook. */
  onPartial?: () => void;
  /** After staged.img is in place (before the caller records DOWNLOADED): the kill -9 test hook. */
  onStaged?: () => void;
  onRetry?: (attempt: number, error: Error) => void;
}

export const STAGED_IMAGE = 'staged.img';
const IMAGE_PART = 'image.part';
/** The compressed bytes received so far (gz or xz), replayed through the decoder on resume. */
const GZ_PART = 'download.gz.part';
const MAX_REDIRECTS = 5;

const sizeOf = (path: string) =>
  stat(path).then(
    (s) => s.size,
    () => 0,
  );

/** The staged, part and compressed-part file names of the image or of a boot file. */
function filesOf(name?: string): { staged: string; part: string; compressed: string } {
  if (!name) return { staged: STAGED_IMAGE, part: IMAGE_PART, compressed: GZ_PART };
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new Error(`boot file name ${JSON.stringify(name)}`);
  return {
    staged: stagedBootFile(name),
    part: `boot-${name}.part`,
    compressed: `boot-${name}.compressed.part`,
  };
}

/** Where a verified boot file waits for the install. */
export function stagedBootFile(name: string): string {
  return `boot-${name}.staged`;
}

/** Removes everything staged or half-downloaded: the image and every boot file. */
export async function discardStaged(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const ours = [STAGED_IMAGE, IMAGE_PART, GZ_PART, ...names.filter((n) => n.startsWith('boot-'))];
  await Promise.all(ours.map((n) => rm(join(dir, n), { force: true })));
}

/** Whether the staged file is there with the expected size and hash (read in full). */
export async function stagedMatches(
  dir: string,
  size: number,
  sha256: string,
  name?: string,
): Promise<boolean> {
  const path = join(dir, filesOf(name).staged);
  if ((await sizeOf(path)) !== size) return false;
  return (await hashRegion(path, 0, size)) === sha256;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

function get(url: URL, headers: Record<string, string>, spec: DownloadSpec, signal?: AbortSignal) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { headers, signal }, resolve);
    req.on('error', reject);
    req.setTimeout(spec.idleTimeoutMs, () =>
      req.destroy(new Error(`no data from ${url.host} for ${spec.idleTimeoutMs} ms`)),
    );
  });
}

async function request(spec: DownloadSpec, offset: number, signal?: AbortSignal): Promise<IncomingMessage> {
  let url = new URL(spec.url);
  for (let hop = 0; ; hop++) {
    const res = await get(url, offset > 0 ? { range: `bytes=${offset}-` } : {}, spec, signal);
    const status = res.statusCode ?? 0;
    if (status < 300 || status >= 400 || !res.headers.location) return res;
    res.resume();
    if (hop >= MAX_REDIRECTS) throw new DownloadError('download', `more than ${MAX_REDIRECTS} redirects`);
    url = new URL(res.headers.location, url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new DownloadError('download', `redirected to a ${url.protocol} URL`);
  }
}

/** The served file's total length, from Content-Range (206) or Content-Length (200). */
function servedTotal(res: IncomingMessage): number | undefined {
  const range = /\/(\d+)\s*$/.exec(res.headers['content-range'] ?? '');
  if (range) return Number(range[1]);
  const length = Number(res.headers['content-length']);
  return res.statusCode === 200 && Number.isFinite(length) ? length : undefined;
}

/**
 * Fetches the image into `spec.dir` and returns the path of the verified staged image. Resumes what
 * an earlier run left there. Throws DownloadError (final) or the abort reason.
 */
export async function downloadImage(spec: DownloadSpec, hooks: DownloadHooks = {}): Promise<string> {
  await mkdir(spec.dir, { recursive: true });
  const files = filesOf(spec.name);
  const what = spec.name ? `boot file ${spec.name}` : 'the image';
  const staged = join(spec.dir, files.staged);
  const imagePart = join(spec.dir, files.part);
  const gzPart = join(spec.dir, files.compressed);
  const discardThis = () =>
    Promise.all([staged, imagePart, gzPart].map((p) => rm(p, { force: true }))).then(() => undefined);
  if ((await sizeOf(staged)) > 0) {
    // Staged by a run that died before it could record it: keep it if it is the right file.
    if (await stagedMatches(spec.dir, spec.size, spec.sha256, spec.name)) return staged;
    await rm(staged, { force: true });
  }
  if ((await sizeOf(imagePart)) > spec.size) await discardThis();

  const gz = spec.format !== 'raw'; // compressed: decoded from the first byte again on resume
  const already = gz ? 0 : await sizeOf(imagePart);
  const need = spec.size - already;
  const free = await freeBytes(spec.dir);
  if (free < need)
    throw new DownloadError(
      'insufficient-storage',
      `${spec.dir} has ${free} bytes free, the image needs ${need} more`,
    );

  const hash = createHash('sha256');
  let imageBytes = 0;
  let partialSignalled = false;
  const out = await open(imagePart, gz ? 'w' : 'a');
  try {
    const sink = async (chunk: Buffer) => {
      imageBytes += chunk.length;
      if (imageBytes > spec.size)
        throw new DownloadError('download', `${what} is larger than the manifest's size ${spec.size}`);
      hash.update(chunk);
      await out.write(chunk);
      hooks.onProgress?.(imageBytes, spec.size, already);
      if (!partialSignalled && imageBytes >= Math.min(spec.size / 2, 1024 * 1024)) {
        partialSignalled = true;
        hooks.onPartial?.();
      }
    };
    if (gz) {
      const consume = async (inflated: AsyncIterable<Buffer>) => {
        for await (const chunk of inflated) await sink(chunk);
      };
      const source = servedBytes(spec, hooks, gzPart, 0);
      if (spec.format === 'xz') await consume(unxz(source));
      else await pipeline(source, createGunzip(), consume);
    } else {
      // Resume: the bytes already on disk are hashed, not fetched again.
      if (already > 0) {
        for await (const chunk of createReadStream(imagePart) as AsyncIterable<Buffer>) {
          hash.update(chunk);
          imageBytes += chunk.length;
        }
      }
      for await (const chunk of servedBytes(spec, hooks, undefined, already)) await sink(chunk);
    }
    await out.sync();
  } catch (err) {
    // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR on a truncated stream): the bytes are not the image.
    if ((err as NodeJS.ErrnoException).code?.startsWith('Z_'))
      throw new DownloadError('checksum', `the .gz stream is corrupt: ${(err as Error).message}`);
    throw err;
  } finally {
    await out.close();
  }
  if (imageBytes !== spec.size)
    throw new DownloadError('download', `got ${imageBytes} bytes of ${what}, the manifest says ${spec.size}`);
  const digest = hash.digest('hex');
  if (digest !== spec.sha256) {
    await discardThis();
    throw new DownloadError('checksum', `${what} hashes ${digest}, the manifest says ${spec.sha256}`);
  }
  await rename(imagePart, staged);
  await syncDir(spec.dir);
  await rm(gzPart, { force: true });
  hooks.onStaged?.();
  return staged;
}

/** xz decoding in the stream; a corrupt or truncated stream is the wrong image (checksum). */
async function* unxz(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  // Loaded on the first .xz image, not at start: the decoder (WebAssembly) is rarely needed.
  const { default: xz } = await import('xz-decompress');
  const decoded = new xz.XzReadableStream(ReadableStream.from(source));
  try {
    for await (const chunk of decoded) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    throw new DownloadError('checksum', `the .xz stream is corrupt: ${(err as Error).message}`);
  }
}

/**
 * The served file's bytes, in order, across as many HTTP attempts as it takes: a replay of the
 * compressed bytes kept from earlier runs (gz), then the network from where that left off.
 */
async function* servedBytes(
  spec: DownloadSpec,
  hooks: DownloadHooks,
  keepPath: string | undefined,
  startOffset: number,
): AsyncGenerator<Buffer> {
  let offset = startOffset;
  if (keepPath && (await sizeOf(keepPath)) > 0) {
    for await (const chunk of createReadStream(keepPath) as AsyncIterable<Buffer>) {
      offset += chunk.length;
      yield chunk;
    }
  }
  const keep: FileHandle | undefined = keepPath ? await open(keepPath, 'a') : undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      hooks.signal?.throwIfAborted();
      try {
        const res = await request(spec, offset, hooks.signal);
        const status = res.statusCode ?? 0;
        if (status === 416) {
          res.resume();
          return; // nothing past `offset`: the size and hash checks decide
        }
        if (status !== 200 && status !== 206) {
          res.resume();
          const error = new Error(`HTTP ${status} from ${new URL(spec.url).host}`);
          if (status >= 400 && status < 500 && status !== 408 && status !== 429)
            throw new DownloadError('download', error.message);
          throw error;
        }
        const total = servedTotal(res);
        if (!keepPath && total !== undefined && total !== spec.size)
          throw new DownloadError(
            'download',
            `the server has ${total} bytes, the manifest says ${spec.size}`,
          );
        if (keepPath && total !== undefined) {
          const free = await freeBytes(spec.dir);
          if (free < total - offset)
            throw new DownloadError(
              'insufficient-storage',
              `${spec.dir} has ${free} bytes free, the compressed image needs ${total - offset} more`,
            );
        }
        // A server that ignores Range sends everything again: skip what we have.
        let skip = status === 200 ? offset : 0;
        for await (const raw of res as AsyncIterable<Buffer>) {
          let chunk = raw;
          if (skip > 0) {
            const n = Math.min(skip, chunk.length);
            skip -= n;
            chunk = chunk.subarray(n);
            if (chunk.length === 0) continue;
          }
          if (keep) await keep.write(chunk);
          offset += chunk.length;
          yield chunk;
        }
        if (total === undefined || offset >= total) return;
        throw new Error(`connection closed at ${offset} of ${total} bytes`);
      } catch (err) {
        if (err instanceof DownloadError || hooks.signal?.aborted) throw err;
        if (attempt >= spec.attempts)
          throw new DownloadError('download', `${(err as Error).message} (after ${attempt} attempts)`);
        hooks.onRetry?.(attempt, err as Error);
        await sleep(Math.min(5_000, 100 * 2 ** (attempt - 1)), undefined, { signal: hooks.signal });
      }
    }
  } finally {
    await keep?.close();
  }
}
