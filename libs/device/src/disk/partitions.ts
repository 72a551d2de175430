/**
 * GPT partitions by label, from `sfdisk --json` (works on block devices and on disk image files
 * alike). A/B slots are the partitions labelled rootfs_a / rootfs_b — never hard-coded device names.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { systemTool } from './system-tool.js';

const run = promisify(execFile);

export interface Partition {
  label: string;
  /** Byte offset on the disk, and size in bytes. */
  offset: number;
  size: number;
  type: string;
  uuid: string;
  node: string;
}

interface SfdiskJson {
  partitiontable: {
    label: string;
    sectorsize?: number;
    partitions?: { node: string; start: number; size: number; type: string; uuid?: string; name?: string }[];
  };
}

export function parseSfdiskJson(text: string): Partition[] {
  const table = (JSON.parse(text) as SfdiskJson).partitiontable;
  if (table.label !== 'gpt') throw new Error(`partition table is ${table.label}, not gpt`);
  const sector = table.sectorsize ?? 512;
  return (table.partitions ?? []).map((p) => ({
    label: p.name ?? '',
    offset: p.start * sector,
    size: p.size * sector,
    type: p.type,
    uuid: p.uuid ?? '',
    node: p.node,
  }));
}

export async function readPartitions(disk: string, sfdisk = systemTool('sfdisk')): Promise<Partition[]> {
  const { stdout } = await run(sfdisk, ['--json', disk]);
  return parseSfdiskJson(stdout);
}

export const GPT_TYPES = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  rootX64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  linuxData: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
} as const;

/** Lays a GPT with the A/B layout onto a disk image file (sizes in MiB; the last takes the rest). */
export async function createAbDiskImage(
  path: string,
  sizes: { esp: number; rootfs: number; persistent: number },
  sfdisk = systemTool('sfdisk'),
): Promise<void> {
  const { truncate } = await import('node:fs/promises');
  const total = sizes.esp + 2 * sizes.rootfs + sizes.persistent + 2;
  await truncate(path, total * 1024 * 1024).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, '');
    await truncate(path, total * 1024 * 1024);
  });
  const script = [
    'label: gpt',
    `size=${sizes.esp}MiB, type=${GPT_TYPES.esp}, name="esp"`,
    `size=${sizes.rootfs}MiB, type=${GPT_TYPES.rootX64}, name="rootfs_a"`,
    `size=${sizes.rootfs}MiB, type=${GPT_TYPES.rootX64}, name="rootfs_b"`,
    `type=${GPT_TYPES.linuxData}, name="persistent"`,
    '',
  ].join('\n');
  await new Promise<void>((resolve, reject) => {
    const child = execFile(sfdisk, ['--quiet', '--no-reread', '--no-tell-kernel', path], (err) =>
      err ? reject(err) : resolve(),
    );
    child.stdin?.end(script);
  });
}
