// Stage 1: the Debian 12 base root file system (debootstrap minbase plus the packages a node needs),
// cached by the hash of what goes into it. Everything later starts from a copy of this tree.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cached, debianMirror, log, run, sha256 } from './lib.mjs';

export const SUITE = 'bookworm';

/**
 * What a node runs on: systemd as PID 1 (udev, logind over D-Bus, polkit for the agents' reboot grant),
 * a Debian kernel with an initramfs (virtio_blk, ext4 and vfat are modules), the EFI binaries of
 * systemd-boot (the boot loader and the UKI stub), NATS, and the tools the update agent calls (lsblk).
 * The cloud flavour of Debian's kernel: the same 6.1 kernel built for virtual machines, a quarter of the
 * generic flavour's modules, so each slot (and every update payload) is ~300 MB smaller.
 */
export const PACKAGES = [
  'systemd',
  'systemd-sysv',
  'udev',
  'dbus',
  'libpam-systemd',
  'polkitd',
  'linux-image-cloud-amd64',
  'initramfs-tools',
  'zstd',
  'systemd-boot',
  'systemd-boot-efi',
  'nats-server',
  'e2fsprogs',
  'util-linux',
  'kmod',
];

/** Run in the new tree (chroot) once the packages are in: drops what a node never reads. */
const TRIM = `
set -e
export LC_ALL=C
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/lib/dpkg/*-old
rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/lintian /usr/share/locale/*
rm -rf /var/log/*.log /var/log/apt/* /tmp/* /var/tmp/*
`;

export function baseKey() {
  return sha256('base-v1', SUITE, debianMirror(SUITE), PACKAGES, TRIM);
}

/** The cached base tree for the current inputs (built when missing: ~5-10 min cold, downloads ~150 MB). */
export function baseTree(cache) {
  const key = baseKey();
  const dir = join(cache, `base-${key.slice(0, 16)}`);
  if (existsSync(dir)) return dir;
  log(`base: debootstrap ${SUITE} minbase + ${PACKAGES.length} packages (cache miss ${key.slice(0, 16)})`);
  const debs = join(cache, 'debs');
  mkdirSync(debs, { recursive: true });
  return cached(dir, (tmp) => {
    const root = join(tmp, 'root');
    run('debootstrap', [
      '--variant=minbase',
      `--include=${PACKAGES.join(',')}`,
      `--cache-dir=${debs}`,
      SUITE,
      root,
      debianMirror(SUITE),
    ]);
    run('chroot', [root, '/bin/sh', '-c', TRIM]);
    const kernels = readdirSync(join(root, 'boot')).filter((f) => f.startsWith('vmlinuz-'));
    if (kernels.length !== 1)
      throw new Error(`base: expected one kernel in /boot, found ${kernels.join(', ')}`);
    writeFileSync(join(tmp, 'key'), `${key}\n`);
    for (const stale of readdirSync(cache).filter(
      (f) => f.startsWith('base-') && f !== `base-${key.slice(0, 16)}.tmp`,
    ))
      rmSync(join(cache, stale), { recursive: true, force: true });
  });
}
