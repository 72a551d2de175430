/** StateFile on a real directory: saves land in call order, whatever their sizes and timing. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateFile } from './state-file.js';

describe('StateFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-state-file-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps the newest of saves issued without waiting (a large stale write never lands last)', async () => {
    const file = new StateFile<{ n: number; pad: string }>(join(dir, 'a', 'state.json'), 1);
    const saves: Promise<void>[] = [];
    for (let n = 0; n < 40; n++) {
      // Older snapshots are much larger, so unordered writes would finish out of order.
      saves.push(file.save({ n, pad: 'x'.repeat((40 - n) * 200_000) }));
    }
    await Promise.all(saves);
    expect((await file.load())?.n).toBe(39);
    expect(await readdir(join(dir, 'a'))).toEqual(['state.json']); // no temp files left behind
  });

  it('snapshots the data when save() is called, not when the write runs', async () => {
    const file = new StateFile<{ state: string }>(join(dir, 'state.json'), 1);
    const live = { state: 'IDLE' };
    const first = file.save(live);
    live.state = 'DOWNLOADING';
    const second = file.save(live);
    live.state = 'mutated after the last save';
    await Promise.all([first, second]);
    expect(await file.load()).toEqual({ state: 'DOWNLOADING' });
  });

  it('goes on after a failed save and refuses another version on load', async () => {
    const file = new StateFile<{ n: number }>(join(dir, 'state.json'), 2);
    const bad = new StateFile<{ n: bigint }>(join(dir, 'state.json'), 2);
    await expect(bad.save({ n: 1n })).rejects.toThrow(/BigInt/);
    await file.save({ n: 7 });
    expect(await file.load()).toEqual({ n: 7 });
    await writeFile(join(dir, 'state.json'), JSON.stringify({ version: 1, data: { n: 1 } }));
    await expect(file.load()).rejects.toThrow(/version 1; this agent reads version 2/);
  });
});
