// The GPT disk: esp, rootfs_a, rootfs_b, data (the partition labels LinuxDevice reads through lsblk and
// /dev/disk/by-partlabel), as a sparse file; the partition images are copied in at their offsets.
import { rmSync, statSync } from 'node:fs';
import { run } from './lib.mjs';

/** Sizes in MiB. The slots hold a ~0.6 GB root file system; data holds one staged image and JetStream. */
export const LAYOUT = {
  esp: { mib: 128, type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' },
  rootfs_a: { mib: 1024, type: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709' },
  rootfs_b: { mib: 1024, type: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709' },
  data: { mib: 1536, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' },
};
const DISK_ID = '4F555450-4F53-5400-0000-000000000001';
const MIB = 1024 * 1024;

/** Writes `out`; returns the partitions with byte offsets and sizes. */
export function assembleDisk({ out, esp, rootfsA, data }) {
  const images = { esp, rootfs_a: rootfsA, data };
  let at = 1; // MiB: GPT header and table before the first partition
  const parts = Object.entries(LAYOUT).map(([label, p], i) => {
    const part = {
      label,
      offset: at * MIB,
      size: p.mib * MIB,
      type: p.type,
      uuid: `4F555450-4F53-5400-0001-00000000000${i + 1}`,
    };
    at += p.mib;
    return part;
  });
  rmSync(out, { force: true });
  run('truncate', ['-s', `${(at + 1) * MIB}`, out]);
  const script = [
    'label: gpt',
    `label-id: ${DISK_ID}`,
    'unit: sectors',
    '',
    ...parts.map(
      (p) =>
        `start=${p.offset / 512}, size=${p.size / 512}, type=${p.type}, uuid=${p.uuid}, name="${p.label}"`,
    ),
    '',
  ].join('\n');
  run('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', out], { input: script, quiet: true });
  for (const p of parts) {
    const img = images[p.label];
    if (!img) continue;
    if (statSync(img).size > p.size)
      throw new Error(`${p.label}: image of ${statSync(img).size} bytes > partition ${p.size}`);
    run('dd', [
      `if=${img}`,
      `of=${out}`,
      'bs=1M',
      `seek=${p.offset / MIB}`,
      'conv=notrunc,sparse',
      'status=none',
    ]);
  }
  return parts;
}
