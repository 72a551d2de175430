/** DecisionEngine: one observation at a time, the record durable before its effects, follow-ups next. */
import { describe, expect, it } from '@jest/globals';
import { DecisionEngine, type Decide } from './decision-engine.js';
import { SerialQueue } from './serial-queue.js';

interface Rec {
  n: number;
  last: string;
}
type Obs = { kind: 'bump'; by: string } | { kind: 'done'; by: string } | { kind: 'noop' };
type Eff = { kind: 'work'; by: string } | { kind: 'boom' } | { kind: 'note'; by: string };

const decide: Decide<Rec, Obs, Eff> = (record, obs) => {
  switch (obs.kind) {
    case 'bump':
      return {
        next: { n: record.n + 1, last: obs.by },
        effects:
          obs.by === 'bad'
            ? [{ kind: 'boom' }, { kind: 'note', by: obs.by }]
            : [{ kind: 'work', by: obs.by }],
      };
    case 'done':
      return { next: { n: record.n, last: `done ${obs.by}` }, effects: [{ kind: 'note', by: obs.by }] };
    case 'noop':
      return { next: record, effects: [] };
  }
};

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

function harness(opts: { persistFails?: () => boolean; publishFails?: boolean } = {}) {
  const log: string[] = [];
  let disk: Rec | undefined;
  const engine = new DecisionEngine<Rec, Obs, Eff>(
    { n: 0, last: '' },
    {
      decide,
      async persist(record) {
        await tick();
        if (opts.persistFails?.()) throw new Error('disk full');
        disk = record;
        log.push(`persist ${record.n} ${record.last}`);
      },
      publish(record, previous) {
        if (opts.publishFails) throw new Error('bus down');
        log.push(`publish ${previous.n}->${record.n}`);
      },
      onPublishError: (err) => log.push(`publish failed: ${(err as Error).message}`),
      async execute(effect, record) {
        // Every effect sees its own record already on disk.
        expect(disk).toEqual(record);
        await tick();
        if (effect.kind === 'boom') throw new Error('effect failed');
        log.push(`${effect.kind} ${effect.by}`);
        return effect.kind === 'work' ? { kind: 'done', by: effect.by } : undefined;
      },
    },
  );
  return { engine, log, disk: () => disk };
}

describe('DecisionEngine', () => {
  it('persists, publishes, then runs effects; a follow-up is decided before the next submission', async () => {
    const { engine, log } = harness();
    const a = engine.submit({ kind: 'bump', by: 'a' });
    const b = engine.submit({ kind: 'bump', by: 'b' });
    const [stepA, stepB] = await Promise.all([a, b]);
    expect(log).toEqual([
      'persist 1 a',
      'publish 0->1',
      'work a',
      'persist 1 done a',
      'publish 1->1',
      'note a',
      'persist 2 b',
      'publish 1->2',
      'work b',
      'persist 2 done b',
      'publish 2->2',
      'note b',
    ]);
    expect(stepA).toEqual({
      previous: { n: 0, last: '' },
      next: { n: 1, last: 'a' },
      effects: [{ kind: 'work', by: 'a' }],
    });
    expect(stepB.previous).toEqual({ n: 1, last: 'done a' });
    expect(engine.record).toEqual({ n: 2, last: 'done b' });
  });

  it('neither persists nor publishes an unchanged record', async () => {
    const { engine, log } = harness();
    await engine.submit({ kind: 'noop' });
    expect(log).toEqual([]);
  });

  it('a throwing effect rejects its caller, skips the effects after it, and the queue goes on', async () => {
    const { engine, log, disk } = harness();
    const bad = engine.submit({ kind: 'bump', by: 'bad' });
    const next = engine.submit({ kind: 'bump', by: 'c' });
    await expect(bad).rejects.toThrow('effect failed');
    await next;
    expect(log).not.toContain('note bad');
    expect(log.slice(0, 2)).toEqual(['persist 1 bad', 'publish 0->1']);
    expect(disk()).toEqual({ n: 2, last: 'done c' });
  });

  it('a failed persist publishes nothing, runs no effect and keeps the old record', async () => {
    let fail = true;
    const { engine, log } = harness({ persistFails: () => fail });
    await expect(engine.submit({ kind: 'bump', by: 'a' })).rejects.toThrow('disk full');
    expect(log).toEqual([]);
    expect(engine.record).toEqual({ n: 0, last: '' });
    fail = false;
    await engine.submit({ kind: 'bump', by: 'b' });
    expect(engine.record).toEqual({ n: 1, last: 'done b' });
  });

  it('a failed publish is reported and the effects still run', async () => {
    const { engine, log } = harness({ publishFails: true });
    await engine.submit({ kind: 'bump', by: 'a' });
    expect(log).toEqual([
      'persist 1 a',
      'publish failed: bus down',
      'work a',
      'persist 1 done a',
      'publish failed: bus down',
      'note a',
    ]);
  });

  it('reset() stores and announces a record in queue order', async () => {
    const { engine, log } = harness();
    const step = engine.submit({ kind: 'bump', by: 'a' });
    const reset = engine.reset({ n: 9, last: 'loaded' });
    await Promise.all([step, reset]);
    expect(engine.record).toEqual({ n: 9, last: 'loaded' });
    expect(log.at(-2)).toBe('persist 9 loaded');
  });
});

describe('SerialQueue', () => {
  it('runs work in order, one at a time, and survives a failure', async () => {
    const queue = new SerialQueue();
    const seen: string[] = [];
    let running = 0;
    const job = (name: string, fail = false) =>
      queue.run(async () => {
        running += 1;
        expect(running).toBe(1);
        await tick();
        seen.push(name);
        running -= 1;
        if (fail) throw new Error(name);
        return name;
      });
    const results = [job('a'), job('b', true), job('c')];
    await expect(results[0]).resolves.toBe('a');
    await expect(results[1]).rejects.toThrow('b');
    await expect(results[2]).resolves.toBe('c');
    await queue.idle();
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('runs synchronous work and passes its value through', async () => {
    expect(await new SerialQueue().run(() => 42)).toBe(42);
  });
});
