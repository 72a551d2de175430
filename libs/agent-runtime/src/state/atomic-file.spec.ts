import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readJson, writeFileAtomic, writeJsonAtomic, type Versioned } from './atomic-file.js';

const NODE = resolve('node_modules/.bin/node');
const SOURCE = fileURLToPath(new URL('./atomic-file.ts', import.meta.url));

interface Doc {
  seq: number;
  payload: string;
}

/** A document large enough that a non-atomic write would be seen half-done. */
function doc(seq: number, size = 64 * 1024): Doc {
  return { seq, payload: `${seq}:`.padEnd(size, String.fromCharCode(97 + (seq % 26))) };
}

function expectWhole(got: Versioned<Doc> | undefined, size?: number): Doc {
  expect(got).toBeDefined();
  const d = (got as Versioned<Doc>).data;
  expect(got?.version).toBe(1);
  expect(d).toEqual(doc(d.seq, size));
  return d;
}

describe('atomic files', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['a string', 'héllo\nwörld\n'],
    ['an empty string', ''],
    ['bytes', new Uint8Array([0, 1, 2, 254, 255])],
  ])('round-trips %s', async (_what, data) => {
    const path = join(dir, 'f.bin');
    await writeFileAtomic(path, data);
    const back = await readFile(path);
    expect(new Uint8Array(back)).toEqual(typeof data === 'string' ? new TextEncoder().encode(data) : data);
  });

  it('round-trips a versioned JSON document', async () => {
    const path = join(dir, 'state.json');
    await writeJsonAtomic(path, 3, { a: 1, list: ['x', 'y'], nested: { ok: true } });
    expect(await readJson(path)).toEqual({
      version: 3,
      data: { a: 1, list: ['x', 'y'], nested: { ok: true } },
    });
    expect((await readFile(path, 'utf8')).endsWith('}\n')).toBe(true);
  });

  it('creates the file with mode 0600 by default', async () => {
    const path = join(dir, 'secret.json');
    await writeJsonAtomic(path, 1, { token: 'x' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('uses a given mode', async () => {
    const path = join(dir, 'shared.txt');
    await writeFileAtomic(path, 'x', 0o640);
    expect((await stat(path)).mode & 0o777).toBe(0o640);
  });

  it('replaces a wider mode of an existing file with 0600', async () => {
    const path = join(dir, 'secret.json');
    await writeFile(path, 'old');
    await chmod(path, 0o644);
    await writeJsonAtomic(path, 1, { token: 'new' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readJson(path))?.data).toEqual({ token: 'new' });
  });

  it('creates missing parent directories with mode 0700', async () => {
    const path = join(dir, 'a', 'b', 'state.json');
    await writeJsonAtomic(path, 1, { ok: true });
    expect((await readJson(path))?.data).toEqual({ ok: true });
    expect((await stat(join(dir, 'a', 'b'))).mode & 0o777).toBe(0o700);
  });

  it('leaves no temp file behind', async () => {
    const path = join(dir, 'state.json');
    for (let i = 0; i < 5; i++) await writeJsonAtomic(path, 1, { i });
    await writeFileAtomic(join(dir, 'other.txt'), 'x');
    expect((await readdir(dir)).sort()).toEqual(['other.txt', 'state.json']);
  });

  it('removes its temp file when the rename fails, and keeps what was there', async () => {
    const path = join(dir, 'state.json');
    await mkdir(path);
    await writeFile(join(path, 'inside'), 'kept');
    await expect(writeJsonAtomic(path, 1, { x: 1 })).rejects.toMatchObject({ code: expect.any(String) });
    expect(await readdir(dir)).toEqual(['state.json']);
    expect(await readFile(join(path, 'inside'), 'utf8')).toBe('kept');
  });

  it.each([
    ['is a file', ['file', 'state.json']],
    ['is under a file', ['file', 'sub', 'state.json']],
  ])('rejects when the directory cannot be created because it %s', async (_what, parts) => {
    await writeFile(join(dir, 'file'), 'x');
    await expect(writeJsonAtomic(join(dir, ...parts), 1, {})).rejects.toMatchObject({
      code: expect.stringMatching(/^(EEXIST|ENOTDIR)$/),
    });
    expect(await readdir(dir)).toEqual(['file']);
    expect(await readFile(join(dir, 'file'), 'utf8')).toBe('x');
  });

  it('ends with one whole document when many writes race on the same path', async () => {
    const path = join(dir, 'state.json');
    const seqs = Array.from({ length: 40 }, (_, i) => i);
    await Promise.all(seqs.map((seq) => writeJsonAtomic(path, 1, doc(seq))));
    const last = expectWhole(await readJson<Doc>(path));
    expect(seqs).toContain(last.seq);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('is never seen torn or missing by a reader while 200 writes replace it', async () => {
    const path = join(dir, 'state.json');
    const writes = 200;
    await writeJsonAtomic(path, 1, doc(0));
    let done = false;
    let failed = false;
    const writer = (async () => {
      try {
        for (let seq = 1; seq < writes && !failed; seq++) await writeJsonAtomic(path, 1, doc(seq));
      } finally {
        done = true;
      }
    })();
    const seen: number[] = [];
    const reader = (async () => {
      try {
        // Reads until one that started after the last write, which must see that write.
        for (let last = false; !last;) {
          last = done;
          seen.push(expectWhole(await readJson<Doc>(path)).seq);
        }
      } catch (err) {
        failed = true; // stop the writer before the test's directory is removed
        throw err;
      }
    })();
    const [wrote, read] = await Promise.allSettled([writer, reader]);
    if (read.status === 'rejected') throw read.reason;
    if (wrote.status === 'rejected') throw wrote.reason;
    // Reads run one after another, so none may see an older document than the one before it.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(writes - 1);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('keeps a whole document when the writing process is killed with SIGKILL mid-loop', async () => {
    // The child runs the library's own source (Node strips the types) and reports each finished write.
    const path = join(dir, 'state.json');
    const size = 512 * 1024;
    const script = `
      import { writeJsonAtomic } from ${JSON.stringify(SOURCE)};
      const path = ${JSON.stringify(path)};
      for (let seq = 0; ; seq++) {
        const payload = (seq + ':').padEnd(${size}, String.fromCharCode(97 + (seq % 26)));
        await writeJsonAtomic(path, 1, { seq, payload });
        process.stdout.write(seq + '\\n');
      }
    `;
    for (let round = 0; round < 10; round++) {
      const child = spawn(
        NODE,
        ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<NodeJS.Signals | null>((res) =>
        child.on('exit', (_code, signal) => res(signal)),
      );
      let acked = -1;
      try {
        // After a few finished writes, let it run on for a different while each round (0-9 ms), so the
        // kill lands at a different point of a write: before, during or after the rename.
        for await (const line of createInterface({ input: child.stdout })) {
          acked = Number(line);
          if (acked >= 2) break;
        }
        await new Promise((res) => setTimeout(res, round));
      } finally {
        child.kill('SIGKILL');
      }
      expect({ signal: await exited, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
      const survived = expectWhole(await readJson<Doc>(path), size);
      // The file holds the last acknowledged write or a later one, never an older or a torn one.
      expect(survived.seq).toBeGreaterThanOrEqual(acked);
      // A kill may leave the temp file of the interrupted write; the target is never one of them.
      const names = await readdir(dir);
      expect(names).toContain('state.json');
      for (const name of names.filter((n) => n !== 'state.json'))
        expect(name).toMatch(/^\.state\.json\.\d+\.[0-9a-f]{8}\.tmp$/);
      await rm(path);
    }
  });
});

describe('readJson', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-readjson-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns undefined for a missing file', async () => {
    expect(await readJson(join(dir, 'missing.json'))).toBeUndefined();
  });

  it('returns undefined when the directory is missing too', async () => {
    expect(await readJson(join(dir, 'no', 'such', 'missing.json'))).toBeUndefined();
  });

  it('accepts a versioned document whose data is null', async () => {
    await writeFile(join(dir, 'n.json'), '{"version":2,"data":null}');
    expect(await readJson(join(dir, 'n.json'))).toEqual({ version: 2, data: null });
  });

  it.each([
    ['a bare object', '{"nodeId":"x"}'],
    ['a string version', '{"version":"1","data":{}}'],
    ['no data', '{"version":1}'],
    ['an array', '[1,{"version":1,"data":{}}]'],
    ['null', 'null'],
    ['a number', '7'],
    ['a string', '"{\\"version\\":1}"'],
  ])('throws for %s, naming the path', async (_what, text) => {
    const path = join(dir, 'state.json');
    await writeFile(path, text);
    await expect(readJson(path)).rejects.toThrow(`${path}: not a versioned state document`);
  });

  it.each([
    ['empty', ''],
    ['truncated', '{"version":1,"data":{"a"'],
  ])('throws a SyntaxError for an %s file', async (_what, text) => {
    const path = join(dir, 'state.json');
    await writeFile(path, text);
    await expect(readJson(path)).rejects.toThrow(SyntaxError);
  });

  it('throws, rather than returning undefined, when the path is a directory', async () => {
    await mkdir(join(dir, 'state.json'));
    await expect(readJson(join(dir, 'state.json'))).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
