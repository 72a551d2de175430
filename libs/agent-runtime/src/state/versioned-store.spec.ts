/** VersionedStore: typed records, migrations of older files, refusals that name the path, kill -9. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { StateDecodeError, VersionedStore, type RecordCodec } from './versioned-store.js';

interface Counter {
  count: number;
  label: string;
}

const codec: RecordCodec<Counter> = {
  version: 3,
  decode(data) {
    const d = data as Partial<Counter> | null;
    if (typeof d?.count !== 'number') throw new Error('count is not a number');
    if (typeof d.label !== 'string') throw new Error('label is not a string');
    return { count: d.count, label: d.label };
  },
  migrations: {
    1: (data) => ({ count: Number((data as { n: string }).n) }), // v1 kept the count as text
    2: (data) => ({ ...(data as object), label: 'migrated' }), // v2 had no label
  },
};

describe('VersionedStore', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-versioned-store-'));
    path = join(dir, 'state.json');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('stores the typed record under its version and reads it back', async () => {
    const store = new VersionedStore(path, codec);
    expect(await store.load()).toBeUndefined();
    await store.save({ count: 4, label: 'x' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ version: 3, data: { count: 4, label: 'x' } });
    expect(await store.load()).toEqual({ count: 4, label: 'x' });
  });

  it('migrates an older file step by step', async () => {
    await writeFile(path, JSON.stringify({ version: 1, data: { n: '12' } }));
    expect(await new VersionedStore(path, codec).load()).toEqual({ count: 12, label: 'migrated' });
    await writeFile(path, JSON.stringify({ version: 2, data: { count: 5 } }));
    expect(await new VersionedStore(path, codec).load()).toEqual({ count: 5, label: 'migrated' });
  });

  it.each([
    [
      'a newer version',
      { version: 4, data: { count: 1, label: 'x' } },
      /version 4 is newer than this agent's 3/,
    ],
    ['a version without a migration', { version: 0, data: {} }, /no migration from version 0/],
    [
      'a record the decoder refuses',
      { version: 3, data: { count: 'many', label: 'x' } },
      /count is not a number/,
    ],
    ['a document without a version', { count: 1 }, /not a versioned state document/],
  ])('refuses %s, naming the path', async (_what, doc, message) => {
    await writeFile(path, JSON.stringify(doc));
    const load = new VersionedStore(path, codec).load();
    await expect(load).rejects.toThrow(StateDecodeError);
    await expect(new VersionedStore(path, codec).load()).rejects.toThrow(message);
    await expect(new VersionedStore(path, codec).load()).rejects.toThrow(path);
  });

  it('refuses a torn file', async () => {
    await writeFile(path, '{"version":3,"data":{"cou');
    await expect(new VersionedStore(path, codec).load()).rejects.toThrow(StateDecodeError);
  });

  it('holds a whole record after the saving process is killed with SIGKILL', async () => {
    // The child saves through the store's own write path (Node strips the types of atomic-file.ts).
    const source = fileURLToPath(new URL('./atomic-file.ts', import.meta.url));
    const script = `
      import { writeJsonAtomic } from ${JSON.stringify(source)};
      for (let count = 0; ; count++) {
        await writeJsonAtomic(${JSON.stringify(path)}, 3, { count, label: 'x'.repeat(256 * 1024) });
        process.stdout.write(count + '\\n');
      }
    `;
    const child = spawn(resolve('node_modules/.bin/node'), ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((res) => child.on('exit', res));
    let acked = -1;
    try {
      for await (const line of createInterface({ input: child.stdout })) {
        acked = Number(line);
        if (acked >= 3) break;
      }
      await new Promise((res) => setTimeout(res, 3));
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    const record = await new VersionedStore(path, codec).load();
    expect(record?.count).toBeGreaterThanOrEqual(acked);
    expect(record?.label).toHaveLength(256 * 1024);
  });
});
