/**
 * Test fixtures of the update agent: a local HTTP image server (Range support, a connection cut
 * mid-body, request log), random images with their .gz variant, signing keys and signed manifests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { create, toJson } from '@bufbuild/protobuf';
import {
  BootFileKind,
  BootFileSchema,
  UpdateManifestSchema,
  type BootFile,
  type UpdateManifest,
} from '@outpost/contracts';

export type ManifestFields = Partial<
  Pick<
    UpdateManifest,
    'version' | 'imageUrl' | 'size' | 'sha256' | 'signature' | 'releaseNotes' | 'bootFiles'
  >
>;
import { rawPublicKey, signManifest } from '../src/domain/manifest.js';

export interface Served {
  body: Buffer;
  /** Cut the connection after this many bytes, for the first `cuts` requests. */
  cutAt?: number;
  cuts?: number;
}

export interface LoggedRequest {
  path: string;
  range?: string;
}

export class ImageServer {
  readonly requests: LoggedRequest[] = [];
  private readonly files = new Map<string, Served>();
  private server?: Server;
  url = '';

  serve(path: string, served: Served): string {
    this.files.set(path, { ...served });
    return `${this.url}${path}`;
  }

  requestsFor(path: string): LoggedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      this.requests.push({ path, range: req.headers.range });
      const file = this.files.get(path);
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      const total = file.body.length;
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      if (start >= total && m) {
        res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
        return;
      }
      const body = file.body.subarray(start);
      res.writeHead(m ? 206 : 200, {
        'content-length': body.length,
        ...(m ? { 'content-range': `bytes ${start}-${total - 1}/${total}` } : {}),
      });
      if (file.cutAt !== undefined && (file.cuts ?? 1) > 0) {
        file.cuts = (file.cuts ?? 1) - 1;
        res.write(body.subarray(0, Math.max(0, file.cutAt - start)), () => res.socket?.destroy());
        return;
      }
      res.end(body);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

export interface TestImage {
  raw: Buffer;
  gz: Buffer;
  /** The same image as .xz (the xz CLI, from Debian's xz-utils). */
  xz: Buffer;
  sha256: string;
}

export function makeImage(bytes: number): TestImage {
  const raw = randomBytes(bytes);
  return {
    raw,
    gz: gzipSync(raw),
    xz: execFileSync('xz', ['--compress', '--stdout', '-0', '-T1'], { input: raw, maxBuffer: 1 << 30 }),
    sha256: createHash('sha256').update(raw).digest('hex'),
  };
}

export interface TestKeys {
  privateKey: KeyObject;
  /** base64 of the raw public key, as OUTPOST_UPDATE_TRUSTED_KEYS takes it. */
  publicBase64: string;
}

export function makeKeys(): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicBase64: rawPublicKey(publicKey).toString('base64') };
}

export function manifestFor(
  version: string,
  imageUrl: string,
  image: TestImage,
  key?: KeyObject,
  over: ManifestFields = {},
): UpdateManifest {
  const m = create(UpdateManifestSchema, {
    version,
    imageUrl,
    size: BigInt(image.raw.length),
    sha256: image.sha256,
    ...over,
  });
  return key ? signManifest(m, key) : m;
}

/** A kernel and, optionally, an initrd for a manifest's bootFiles (urls absolute or relative to the image). */
export function bootFilesFor(
  kernel: { url: string; file: TestImage },
  initrd?: { url: string; file: TestImage },
): BootFile[] {
  const one = (kind: BootFileKind, f: { url: string; file: TestImage }) =>
    create(BootFileSchema, { kind, url: f.url, size: BigInt(f.file.raw.length), sha256: f.file.sha256 });
  return [one(BootFileKind.KERNEL, kernel), ...(initrd ? [one(BootFileKind.INITRD, initrd)] : [])];
}

/** The body of cmd.download for a manifest, as a plain NATS client sends it. */
export function downloadBody(manifest: UpdateManifest): string {
  return JSON.stringify({ manifest: toJson(UpdateManifestSchema, manifest) });
}

/**
 * The built update agent as a real process on Node 24: apps/update-agent/dist/main.js once the
 * workspace link node_modules/@outpost/agent-update exists (npm install); until then the same
 * runMain([UpdateAgent]) from the lib's dist, which is what main.js does.
 */
export interface AgentProcess {
  child: ChildProcess;
  exited: Promise<number>;
  output(): string;
}

const ROOT = resolve(new URL('../../../..', import.meta.url).pathname);

export function startUpdateAgentProcess(env: NodeJS.ProcessEnv): AgentProcess {
  const main = join(ROOT, 'apps/update-agent/dist/main.js');
  const lib = join(ROOT, 'libs/agents/update/dist/index.js');
  const linked = existsSync(join(ROOT, 'node_modules/@outpost/agent-update/package.json'));
  if (!existsSync(linked ? main : lib))
    throw new Error(`${linked ? main : lib} is missing: build first (tsc -b tsconfig.build.json)`);
  const args = linked
    ? [main]
    : [
        '--input-type=module',
        '-e',
        `import { runMain } from '@outpost/agent-runtime'; import { UpdateAgent } from ${JSON.stringify(lib)}; process.exit(await runMain([UpdateAgent]));`,
      ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number>((done) =>
    child.once('exit', (code, signal) => done(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15))),
  );
  return { child, exited, output: () => out };
}
