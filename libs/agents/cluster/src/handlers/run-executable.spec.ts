/** The no-shell runner on real processes: exit codes, output tail, clean env, timeout and stop. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@outpost/testing';
import { runExecutable, tailOf } from './run-executable.js';

describe('runExecutable', () => {
  let dir: string;
  const never = new AbortController().signal;
  const script = async (name: string, body: string) => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-run-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('succeeds on exit 0 and passes argv words literally, without a shell', async () => {
    const file = await script('echo-args', 'for a in "$@"; do echo "[$a]"; done');
    const result = await runExecutable(file, ['a b', '$(id)', ';true'], {
      env: {},
      timeoutMs: 5000,
      signal: never,
    });
    expect(result).toEqual({ ok: true, aborted: false, outcome: 'exit 0', tail: '[a b]\n[$(id)]\n[;true]' });
  });

  it('gives only the typed parameters and a fixed PATH to the child', async () => {
    process.env.OUTPOST_LEAK_CHECK = 'leaked';
    const file = await script('env', 'env | sort');
    const result = await runExecutable(file, [], {
      env: { CLUSTER_ROLE: 'agent' },
      timeoutMs: 5000,
      signal: never,
    });
    delete process.env.OUTPOST_LEAK_CHECK;
    expect(result.tail).toMatch(/^CLUSTER_ROLE=agent$/m);
    expect(result.tail).toMatch(/^PATH=\/usr\/local\/sbin:/m);
    expect(result.tail).not.toMatch(/OUTPOST_LEAK_CHECK/);
  });

  it('reports the exit status with the tail of stdout and stderr', async () => {
    const file = await script(
      'fail',
      'i=0; while [ $i -lt 500 ]; do echo "line $i"; i=$((i+1)); done; echo "fatal: disk full" >&2; exit 3',
    );
    const result = await runExecutable(file, [], { env: {}, timeoutMs: 5000, signal: never });
    expect(result.ok).toBe(false);
    expect(result.outcome).toBe('exit 3');
    expect(result.tail).toMatch(/fatal: disk full$/);
    expect(result.tail).not.toMatch(/line 1\n/);
    expect(result.tail.length).toBeLessThanOrEqual(601);
  });

  it('reports an executable that cannot start', async () => {
    const result = await runExecutable(join(dir, 'missing'), [], { env: {}, timeoutMs: 5000, signal: never });
    expect(result).toMatchObject({
      ok: false,
      aborted: false,
      outcome: expect.stringMatching(/cannot start .*ENOENT/),
    });
  });

  it('kills the whole process group on timeout, including what the child started', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const file = await script('hang', `sleep 300 & echo $! > ${pidFile}; wait`);
    const result = await runExecutable(file, [], { env: {}, timeoutMs: 300, signal: never });
    expect(result).toMatchObject({ ok: false, aborted: false, outcome: 'timed out after 300 ms' });
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    await eventually(() => expect(alive(grandchild)).toBe(false));
  });

  it('stops the run when aborted, and says it was cancelled', async () => {
    const file = await script('long', 'sleep 300');
    const stop = new AbortController();
    const running = runExecutable(file, [], { env: {}, timeoutMs: 60_000, signal: stop.signal });
    stop.abort();
    expect(await running).toMatchObject({
      ok: false,
      aborted: true,
      outcome: 'cancelled: the agent is stopping',
    });
  });

  it.each([
    ['short', 'short'],
    ['trailing blank\n\n', 'trailing blank'],
  ])('tailOf(%j)', (text, tail) => expect(tailOf(text)).toBe(tail));

  it('cuts a long output at a line start', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line number ${i}`).join('\n');
    const tail = tailOf(text);
    expect(tail.startsWith('…line number')).toBe(true);
    expect(tail.endsWith('line number 99')).toBe(true);
  });
});
