/**
 * LinuxDevice's boot loader as the unprivileged update agent drives it on a real node: every ESP write
 * and the one-shot go through the real root-side helper script (deploy/libexec/outpost-boot-helper),
 * run here directly instead of through `systemctl start outpost-boot@<op>.service`, on a real ESP tree in
 * a temporary directory, checked with the real `bootctl list`. There are no EFI variables on this
 * machine: the helper's `bootctl set-oneshot` is a stand-in that writes the variable file the way
 * efivarfs presents it (4 attribute bytes, UTF-16LE, NUL), which LinuxDevice reads back.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { bootctlList } from '@outpost/testing';
import { afterBootAttempt, selectEntry, type EntrySpec } from './boot/bls.js';
import type { EspBootLoader } from './boot/esp-boot-loader.js';
import { LinuxDevice } from './linux.device.js';

const run = promisify(execFile);
const HELPER = resolve(new URL('../../../deploy/libexec/outpost-boot-helper', import.meta.url).pathname);
const ONESHOT = 'LoaderEntryOneShot-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f';

const entry = (slot: string, over: Partial<EntrySpec> = {}): EntrySpec => ({
  id: `outpost-${slot}.conf`,
  title: `Outpost (slot ${slot})`,
  version: '2.0.0',
  sortKey: 'outpost',
  linux: `/outpost/${slot}/vmlinuz`,
  initrd: `/outpost/${slot}/initrd.img`,
  options: `root=PARTLABEL=rootfs_${slot} rw quiet`,
  ...over,
});

describe('LinuxDevice through the root-side boot helper, on a real ESP tree', () => {
  let dir: string;
  let esp: string;
  let state: string;
  let cmdline: string;
  let efivars: string;
  let loader: EspBootLoader;
  const helperRuns: string[] = [];

  const boot = (slot: string) =>
    writeFile(cmdline, `BOOT_IMAGE=/outpost/${slot}/vmlinuz root=PARTLABEL=rootfs_${slot} rw\n`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-linux-esp-'));
    esp = join(dir, 'esp');
    state = join(dir, 'state');
    cmdline = join(dir, 'cmdline');
    efivars = join(dir, 'efivars');
    await mkdir(join(esp, 'loader/entries'), { recursive: true });
    await mkdir(join(esp, 'outpost/a'), { recursive: true });
    await mkdir(join(esp, 'EFI/systemd'), { recursive: true });
    await mkdir(join(state, 'update'), { recursive: true });
    await mkdir(efivars);
    await writeFile(join(esp, 'EFI/systemd/systemd-bootx64.efi'), 'the boot loader');
    await writeFile(join(esp, 'outpost/a/vmlinuz'), 'kernel a');
    await writeFile(join(esp, 'outpost/a/initrd.img'), 'initrd a');
    await writeFile(join(esp, 'loader/loader.conf'), 'default outpost-a.conf\ntimeout 3\n');
    await writeFile(
      join(esp, 'loader/entries/outpost-a.conf'),
      'title Outpost (slot a)\nversion 1.0.0\nsort-key outpost\nlinux /outpost/a/vmlinuz\ninitrd /outpost/a/initrd.img\noptions root=PARTLABEL=rootfs_a rw quiet\n',
    );
    // bootctl set-oneshot as efivarfs would show the variable afterwards.
    const fakeBootctl = join(dir, 'bootctl');
    await writeFile(
      fakeBootctl,
      `#!/bin/bash\n[ "$1" = set-oneshot ] || exit 2\nif [ -z "$2" ]; then rm -f ${efivars}/${ONESHOT}; exit 0; fi\n` +
        `{ printf '\\x07\\x00\\x00\\x00'; printf '%s\\0' "$2" | iconv -f UTF-8 -t UTF-16LE; } >${efivars}/${ONESHOT}\n`,
    );
    await chmod(fakeBootctl, 0o755);
    await boot('a');
    const device = new LinuxDevice('/', {
      espDir: esp,
      privilege: 'helper',
      helperDir: join(state, 'update', 'boot-helper'),
      efivarsDir: efivars,
      runHelper: async (op) => {
        helperRuns.push(op);
        try {
          await run(HELPER, [op], {
            env: {
              PATH: process.env.PATH,
              OUTPOST_BOOT_REQUEST: join(state, 'update', 'boot-helper', 'request.env'),
              OUTPOST_BOOT_SOURCES: join(state, 'update'),
              OUTPOST_BOOT_CMDLINE: cmdline,
              OUTPOST_ESP_DIR: esp,
              OUTPOST_BOOTCTL: fakeBootctl,
            },
          });
        } catch (err) {
          throw new Error(`outpost-boot@${op}: ${String((err as { stderr?: string }).stderr).trim()}`);
        }
      },
    });
    loader = device.bootLoader();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("installs slot b's boot files and counted entry, and makes it the one-shot by its loader id", async () => {
    const kernel = join(state, 'update', 'boot-vmlinuz.staged');
    await writeFile(kernel, 'kernel b');
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    await loader.installFile('/outpost/b/vmlinuz', kernel, sha('kernel b'));
    await writeFile(kernel, 'initrd b');
    await loader.installFile('/outpost/b/initrd.img', kernel, sha('initrd b'));
    await loader.writeEntry(entry('b'), 3);
    await loader.setOneShot('outpost-b.conf');

    expect(await readFile(join(esp, 'outpost/b/vmlinuz'), 'utf8')).toBe('kernel b');
    expect(await readdir(join(esp, 'loader/entries'))).toEqual(['outpost-a.conf', 'outpost-b+3.conf']);
    // systemd-boot 252 matches the one-shot against the file name with its counter.
    const raw = await readFile(join(efivars, ONESHOT));
    expect(raw.subarray(4).toString('utf16le')).toBe('outpost-b+3.conf\0');
    expect(await loader.oneShot()).toBe('outpost-b.conf');
    expect(
      selectEntry(await loader.entries(), await loader.defaultPattern(), await loader.oneShotValue())?.id,
    ).toBe('outpost-b.conf');
    expect(helperRuns).toEqual(['write', 'write', 'write', 'oneshot']);

    const listed = await bootctlList(esp);
    expect(listed).toEqual([
      {
        id: 'outpost-b.conf',
        default: false,
        tries: 3,
        linux: '/outpost/b/vmlinuz',
        initrd: '/outpost/b/initrd.img',
      },
      { id: 'outpost-a.conf', default: true, linux: '/outpost/a/vmlinuz', initrd: '/outpost/a/initrd.img' },
    ]);
  });

  it.each<[string, (l: EspBootLoader) => Promise<unknown>, RegExp]>([
    [
      "the running slot's kernel",
      (l) => l.installFile('/outpost/a/vmlinuz', '/etc/hostname', 'ab'.repeat(32)),
      /running slot a/,
    ],
    ["the running slot's entry", (l) => l.writeEntry(entry('a'), 3), /running slot a/],
    ['removing the running entry', (l) => l.remove('outpost-a.conf'), /running slot a/],
    [
      "an entry booting another slot's kernel",
      (l) => l.writeEntry(entry('b', { linux: '/outpost/a/vmlinuz' }), 3),
      /not slot b's/,
    ],
    [
      "an entry naming another slot's root",
      (l) => l.writeEntry(entry('b', { options: 'root=PARTLABEL=rootfs_a' }), 3),
      /another root/,
    ],
    ['an entry whose kernel is not on the ESP yet', (l) => l.writeEntry(entry('c'), 3), /is not on the ESP/],
    [
      'an entry that is not an Outpost one',
      (l) => l.writeEntry(entry('b', { id: 'windows.conf' }), 3),
      /not a file Outpost may write/,
    ],
    ['a loader.conf with other keys', (l) => l.setDefault('x\nreboot-for-bitlocker yes'), /not allowed/],
  ])('refuses %s', async (_name, act, message) => {
    const before = await readdir(join(esp, 'loader/entries'));
    await expect(act(loader)).rejects.toThrow(message);
    expect(await readdir(join(esp, 'loader/entries'))).toEqual(before);
    expect(await readFile(join(esp, 'outpost/a/vmlinuz'), 'utf8')).toBe('kernel a');
  });

  it('copies only regular files from the agent state, never through a symlink', async () => {
    const link = join(state, 'update', 'evil');
    await symlink('/etc/passwd', link);
    await expect(loader.installFile('/outpost/b/vmlinuz', link, 'ab'.repeat(32))).rejects.toThrow(
      /not under/,
    );
    await expect(
      loader.installFile('/EFI/systemd/systemd-bootx64.efi', link, 'ab'.repeat(32)),
    ).rejects.toThrow(/not a file Outpost may write/);
    expect(await readFile(join(esp, 'EFI/systemd/systemd-bootx64.efi'), 'utf8')).toBe('the boot loader');
    expect(await readFile(join(esp, 'outpost/b/vmlinuz'), 'utf8')).toBe('kernel b');
  });

  it('blesses the booted entry, renaming only its counter, and makes it the default', async () => {
    // systemd-boot boots b once: the one-shot is consumed and the counter goes down (+3 -> +2-1).
    const b = await loader.find('outpost-b.conf');
    await rename(
      join(esp, 'loader/entries', b?.fileName ?? ''),
      join(esp, 'loader/entries', afterBootAttempt(b ?? { id: '' })),
    );
    await rm(join(efivars, ONESHOT));
    await boot('b');
    await expect(loader.renameEntryFile('outpost-b+2-1.conf', 'outpost-c.conf')).rejects.toThrow(
      /boot counter only/,
    );
    await loader.bless('outpost-b.conf');
    await loader.setDefault('outpost-b.conf');
    expect(await readdir(join(esp, 'loader/entries'))).toEqual(['outpost-a.conf', 'outpost-b.conf']);
    expect((await bootctlList(esp)).find((e) => e.default)?.id).toBe('outpost-b.conf');
    // Now a is the inactive slot: its entry may go, and be marked bad.
    await loader.markBad('outpost-a.conf');
    expect((await loader.find('outpost-a.conf'))?.fileName).toBe('outpost-a+0-1.conf');
    expect(selectEntry(await loader.entries(), 'outpost-*')?.id).toBe('outpost-b.conf');
    await loader.remove('outpost-a.conf');
    expect(await readdir(join(esp, 'loader/entries'))).toEqual(['outpost-b.conf']);
    await loader.clearOneShot();
    expect(await loader.oneShot()).toBeUndefined();
  });
});
