/**
 * What the real `bootctl list` makes of an ESP tree (the simulator's, or one a test wrote): the tree
 * is copied onto a tmpfs mount, since bootctl insists on a real mount point for --esp-path. Needs root
 * and systemd-boot's bootctl; throws with bootctl's own message when it refuses the ESP.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ListedEntry {
  id: string;
  /** Marked "(default)" by bootctl. */
  default: boolean;
  /** Tries left of a counting entry; undefined when the entry does not count. */
  tries?: number;
  /** The kernel and initrd bootctl found for the entry (ESP paths). */
  linux?: string;
  initrd?: string;
}

export async function bootctlList(espDir: string): Promise<ListedEntry[]> {
  const mnt = await mkdtemp(join(tmpdir(), 'outpost-esp-'));
  await run('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mnt]);
  try {
    for (const name of await readdir(espDir))
      await cp(join(espDir, name), join(mnt, name), { recursive: true });
    const { stdout } = await run('bootctl', [`--esp-path=${mnt}`, '--no-variables', '--no-pager', 'list'], {
      env: { ...process.env, SYSTEMD_RELAX_ESP_CHECKS: '1' },
      encoding: 'utf8',
    });
    return stdout
      .split(/\n\s*\n/)
      .filter((block) => /\bid: /.test(block))
      .map((block) => {
        const tries = /tries: (\d+) left/.exec(block)?.[1];
        return {
          id: /\bid: (\S+)/.exec(block)?.[1] ?? '',
          default: /title: .*\(default\)/.test(block),
          tries: tries === undefined ? undefined : Number(tries),
          linux: /\blinux: (\S+)/.exec(block)?.[1],
          initrd: /\binitrd: (\S+)/.exec(block)?.[1],
        };
      });
  } finally {
    await run('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  }
}
