/**
 * The update agent's way to the root-side boot helper on a real node (deploy/libexec/outpost-boot-helper):
 * the request goes to <dir>/request.env (KEY="value" lines; the helper trusts none of them), then
 * `systemctl start outpost-boot@<op>.service` runs the helper as root and returns when it is done
 * (Type=oneshot); polkit lets the agent's user start exactly those four instances. The helper's
 * reasons for a refusal are in its journal (`journalctl -u outpost-boot@<op>.service`).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { OneShotStore } from './esp-boot-loader.js';
import type { EspWriter } from './esp-writer.js';

const run = promisify(execFile);

export type HelperOp = 'write' | 'rename' | 'remove' | 'oneshot';

/** Runs one helper operation; the default starts its unit through systemd (and so polkit). */
export type HelperRunner = (op: HelperOp) => Promise<void>;

export const systemctlRunner: HelperRunner = async (op) => {
  try {
    await run('systemctl', ['start', `outpost-boot@${op}.service`], { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `outpost-boot@${op}.service failed (journalctl -u outpost-boot@${op}.service): ${(e.stderr ?? e.message).trim()}`,
    );
  }
};

async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}

/** One request at a time: the request file is shared by every operation. */
export class BootHelper {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly runner: HelperRunner = systemctlRunner,
  ) {}

  /** Runs `op` with `fields`; `content`, if given, is staged first and passed as SOURCE + SHA256. */
  request(op: HelperOp, fields: Record<string, string>, content?: string): Promise<void> {
    const next = this.queue.then(async () => {
      if (content !== undefined) {
        const staged = await this.stage(content);
        fields = { ...fields, SOURCE: staged.path, SHA256: staged.sha256 };
      }
      for (const [key, value] of Object.entries(fields))
        if (/["\\\n]/.test(value))
          throw new Error(`boot helper ${key}: ${JSON.stringify(value)} cannot be passed`);
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const lines = Object.entries({ OP: op, ...fields }).map(([k, v]) => `${k}="${v}"\n`);
      await writeAtomic(join(this.dir, 'request.env'), lines.join(''));
      await this.runner(op);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** A file the helper copies from: content written here first (inside the agent's state). */
  private async stage(content: string): Promise<{ path: string; sha256: string }> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, 'content');
    await writeAtomic(path, content);
    return { path, sha256: createHash('sha256').update(content).digest('hex') };
  }
}

/** ESP writes through the helper. */
export class HelperEspWriter implements EspWriter {
  constructor(private readonly helper: BootHelper) {}

  async write(path: string, content: string): Promise<void> {
    // Staged inside the queued request, so two writes cannot swap their contents.
    await this.helper.request('write', { PATH: path }, content);
  }

  async copy(path: string, source: string, sha256: string): Promise<void> {
    await this.helper.request('write', { PATH: path, SOURCE: source, SHA256: sha256 });
  }

  async rename(from: string, to: string): Promise<void> {
    if (from === to) return;
    await this.helper.request('rename', { FROM: from, TO: to });
  }

  async remove(path: string): Promise<void> {
    await this.helper.request('remove', { PATH: path });
  }
}

/** LoaderEntryOneShot: read from efivarfs (world-readable), written by the helper (`bootctl set-oneshot`). */
export class HelperOneShot implements OneShotStore {
  constructor(
    private readonly helper: BootHelper,
    private readonly read: () => Promise<string | undefined>,
  ) {}
  get(): Promise<string | undefined> {
    return this.read();
  }
  set(value: string): Promise<void> {
    return this.helper.request('oneshot', { VALUE: value });
  }
  clear(): Promise<void> {
    return this.helper.request('oneshot', { VALUE: '' });
  }
}
