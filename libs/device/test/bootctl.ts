/**
 * The real `bootctl list` on an ESP tree made by a test: bootctl wants a real mount point, so the tree is
 * copied onto a tmpfs (SYSTEMD_RELAX_ESP_CHECKS=1, `--no-variables`: no EFI here). Needs root (mount).
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ListedEntry {
  id: string;
  default: boolean;
  /** Tries left, when the entry counts them. */
  tries?: number;
  linux?: string;
  initrd?: string;
}

export async function bootctlList(espDir: string): Promise<ListedEntry[]> {
  const mnt = await mkdtemp(join(tmpdir(), 'outpost-esp-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt]);
  try {
    for (const name of await readdir(espDir))
      await cp(join(espDir, name), join(mnt, name), { recursive: true });
    const out = execFileSync('bootctl', [`--esp-path=${mnt}`, '--no-variables', '--no-pager', 'list'], {
      env: { ...process.env, SYSTEMD_RELAX_ESP_CHECKS: '1' },
      encoding: 'utf8',
    });
    return out
      .split(/\n\s*\n/)
      .filter((block) => /\bid: /.test(block))
      .map((block) => {
        const tries = /tries: (\d+) left/.exec(block)?.[1];
        return {
          id: /\bid: (\S+)/.exec(block)?.[1] ?? '',
          default: /title: .*\(default\)/.test(block),
          ...(tries === undefined ? {} : { tries: Number(tries) }),
          linux: /\blinux: (\S+)/.exec(block)?.[1],
          initrd: /\binitrd: (\S+)/.exec(block)?.[1],
        };
      });
  } finally {
    execFileSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  }
}
