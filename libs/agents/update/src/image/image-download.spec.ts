import { describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discardStaged } from './image-download.js';

describe('discardStaged', () => {
  it('removes the staged image and boot files, and leaves the boot helper request directory alone', async () => {
    // On a real node the root-side boot helper's requests live in <stateDir>/update/boot-helper, beside
    // the staged files: the QEMU boot test found a second update failing with EISDIR on it.
    const dir = await mkdtemp(join(tmpdir(), 'outpost-discard-'));
    try {
      const staged = [
        'staged.img',
        'image.part',
        'download.gz.part',
        'boot-kernel.staged',
        'boot-kernel.part',
      ];
      for (const name of [...staged, 'boot-initrd.compressed.part', 'state.json'])
        await writeFile(join(dir, name), 'x');
      await mkdir(join(dir, 'boot-helper'));
      await writeFile(join(dir, 'boot-helper', 'request.env'), 'OP=write\n');
      await discardStaged(dir);
      expect((await readdir(dir)).sort()).toEqual(['boot-helper', 'state.json']);
      expect(await readdir(join(dir, 'boot-helper'))).toEqual(['request.env']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
