/**
 * The update record on disk: a file written by an earlier release (an update in flight when the node
 * was upgraded in place) loads into the typed record and resumes; what is saved reads like the wire.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDecodeError } from '@outpost/agent-runtime';
import { BootFileKind } from '@outpost/contracts';
import { UpdateStateStore } from './update-state.store.js';

/** Exactly what the update agent before the typed store wrote, mid-install. */
const WRITTEN_BY_EARLIER_RELEASE = {
  version: 1,
  data: {
    state: 'INSTALLING',
    detail: '',
    since: '2026-12-06T10:00:00.000Z',
    step: 'write',
    starts: 1,
    manifest: {
      version: '2.0.0',
      imageUrl: 'http://updates.example/2.0.0.img.gz',
      size: '4198625',
      sha256: 'ab'.repeat(32),
      signature: 'c2lnbmF0dXJl',
      bootFiles: [{ kind: 'BOOT_FILE_KIND_KERNEL', url: 'vmlinuz', size: '262161', sha256: 'cd'.repeat(32) }],
    },
    sourceSlot: 'a',
    targetSlot: 'b',
    entryId: 'outpost-b.conf',
    installStarted: true,
  },
};

describe('UpdateStateStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-update-store-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('loads the record an earlier release left in flight, with its manifest decoded once', async () => {
    await writeFile(join(dir, 'state.json'), JSON.stringify(WRITTEN_BY_EARLIER_RELEASE));
    const record = await new UpdateStateStore(dir).load();
    expect(record).toMatchObject({
      state: 'INSTALLING',
      step: 'write',
      starts: 1,
      targetSlot: 'b',
      installStarted: true,
    });
    expect(record?.manifest?.size).toBe(4198625n);
    expect(record?.manifest?.bootFiles[0]?.kind).toBe(BootFileKind.KERNEL);
  });

  it('saves the typed record in the same format it reads', async () => {
    const path = join(dir, 'state.json');
    await writeFile(path, JSON.stringify(WRITTEN_BY_EARLIER_RELEASE));
    const store = new UpdateStateStore(dir);
    const record = await store.load();
    if (!record) throw new Error('no record');
    await store.save(record);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(WRITTEN_BY_EARLIER_RELEASE);
  });

  it.each([
    ['an unknown state', { state: 'PAUSED' }, /unknown state PAUSED/],
    ['an unknown reason', { state: 'FAILED', reason: 'gremlins' }, /unknown reason gremlins/],
    ['a counter of the wrong type', { rollbackReboots: '2' }, /rollbackReboots: not a number/],
    ['a manifest that is not one', { manifest: { size: 'big' } }, /size/],
  ])('refuses %s, naming the file', async (_what, change, message) => {
    const doc = { ...WRITTEN_BY_EARLIER_RELEASE, data: { ...WRITTEN_BY_EARLIER_RELEASE.data, ...change } };
    await writeFile(join(dir, 'state.json'), JSON.stringify(doc));
    const load = new UpdateStateStore(dir).load();
    await expect(load).rejects.toThrow(StateDecodeError);
    await expect(new UpdateStateStore(dir).load()).rejects.toThrow(message);
  });
});
