// The EFI system partition, written as a FAT image with mtools (no mount: the build host's kernel needs
// no vfat driver), and the unified kernel images (UKI) the slots boot.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from './lib.mjs';

/**
 * A UKI: systemd's EFI stub with the kernel, initramfs and os-release as PE sections, built with objcopy
 * (systemd 252 has no ukify). It carries no .cmdline: the boot entry's `options` are the command line,
 * so one file boots either slot. Section addresses are placed after the stub's own image.
 */
export function buildUki({ stub, kernel, initrd, osRelease, out }) {
  const dir = dirname(out);
  const osrel = join(dir, `${out.split('/').pop()}.osrel`);
  writeFileSync(osrel, osRelease);
  // The end of the stub's last section (VMA + size), from objdump; new sections go above it, 1 MiB aligned.
  const heads = run('objdump', ['-h', stub], { capture: true });
  let end = 0;
  for (const m of heads.matchAll(/^\s*\d+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s/gm))
    end = Math.max(end, parseInt(m[2], 16) + parseInt(m[1], 16));
  const align = (n) => Math.ceil(n / 0x100000) * 0x100000;
  const osrelAt = align(end);
  const linuxAt = align(osrelAt + statSync(osrel).size);
  const initrdAt = align(linuxAt + statSync(kernel).size);
  const hex = (n) => `0x${n.toString(16)}`;
  run('objcopy', [
    '--add-section',
    `.osrel=${osrel}`,
    '--change-section-vma',
    `.osrel=${hex(osrelAt)}`,
    '--add-section',
    `.linux=${kernel}`,
    '--change-section-vma',
    `.linux=${hex(linuxAt)}`,
    '--add-section',
    `.initrd=${initrd}`,
    '--change-section-vma',
    `.initrd=${hex(initrdAt)}`,
    stub,
    out,
  ]);
  rmSync(osrel);
  return out;
}

/**
 * A FAT32 ESP image of `mib` MiB: systemd-boot as the removable-media boot file (EFI/BOOT/BOOTX64.EFI,
 * which OVMF boots with no Boot#### variable) and at EFI/systemd, plus text `files` and `binaries`
 * (ESP path -> host file).
 */
export function buildEsp({ out, mib, bootloader, files, binaries }) {
  rmSync(out, { force: true });
  run('mkfs.vfat', ['-F', '32', '-n', 'ESP', '-i', '4f555450', '-C', out, String(mib * 1024)], {
    quiet: true,
  });
  const m = ['-i', out];
  const dirs = new Set(['EFI', 'EFI/BOOT', 'EFI/systemd', 'EFI/Linux', 'loader', 'loader/entries']);
  for (const path of [...Object.keys(files), ...Object.keys(binaries)]) {
    const parts = path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort()) run('mmd', [...m, `::/${d}`]);
  const put = (src, dest) => run('mcopy', [...m, '-o', src, `::/${dest}`]);
  put(bootloader, 'EFI/BOOT/BOOTX64.EFI');
  put(bootloader, 'EFI/systemd/systemd-bootx64.efi');
  const tmp = `${out}.files`;
  mkdirSync(tmp, { recursive: true });
  try {
    for (const [dest, text] of Object.entries(files)) {
      const src = join(tmp, dest.replaceAll('/', '_'));
      writeFileSync(src, text);
      put(src, dest);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  for (const [dest, src] of Object.entries(binaries)) put(src, dest);
  return out;
}
