import { describe, expect, it } from '@jest/globals';
import { JsonLogger, type LogLevel, type LogSink } from './json-logger.js';

/** A sink that keeps what the logger writes. */
class Lines implements LogSink {
  readonly writes: string[] = [];
  write(line: string): boolean {
    this.writes.push(line);
    return true;
  }
  /** Every write must be exactly one line; returns them parsed. */
  entries(): Record<string, unknown>[] {
    return this.writes.map((w) => {
      expect(w.endsWith('\n')).toBe(true);
      expect(w.slice(0, -1)).not.toContain('\n');
      return JSON.parse(w) as Record<string, unknown>;
    });
  }
}

type Method = 'debug' | 'verbose' | 'log' | 'warn' | 'error' | 'fatal';
const METHODS: readonly Method[] = ['debug', 'verbose', 'log', 'warn', 'error', 'fatal'];
const LEVEL_OF: Record<Method, LogLevel> = {
  debug: 'debug',
  verbose: 'debug',
  log: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'error',
};

function logger(level: LogLevel = 'debug', env: NodeJS.ProcessEnv = {}, node?: string) {
  const sink = new Lines();
  return { sink, log: new JsonLogger({ agent: 'node-agent', node }, level, sink, env) };
}

describe('JsonLogger', () => {
  it('writes one JSON object per line with time, level, agent, node, context and msg', () => {
    const { sink, log } = logger('debug', {}, 'a1b2c3d4e5f60718');
    log.log('started', 'Bootstrap');
    const [entry] = sink.entries();
    expect(sink.writes).toHaveLength(1);
    expect(entry).toEqual({
      time: expect.any(String),
      level: 'info',
      agent: 'node-agent',
      node: 'a1b2c3d4e5f60718',
      context: 'Bootstrap',
      msg: 'started',
    });
    const time = entry?.time as string;
    expect(new Date(time).toISOString()).toBe(time);
  });

  it('leaves out node and context when there are none', () => {
    const { sink, log } = logger();
    log.log('no context');
    expect(sink.entries()).toEqual([
      { time: expect.any(String), level: 'info', agent: 'node-agent', msg: 'no context' },
    ]);
  });

  it.each(METHODS.map((m) => [m, LEVEL_OF[m]] as const))('%s() writes level %s', (method, level) => {
    const { sink, log } = logger('debug');
    log[method]('hello', 'Ctx');
    expect(sink.entries()).toEqual([expect.objectContaining({ level, msg: 'hello', context: 'Ctx' })]);
  });

  it.each<[LogLevel, Method[]]>([
    ['debug', ['debug', 'verbose', 'log', 'warn', 'error', 'fatal']],
    ['info', ['log', 'warn', 'error', 'fatal']],
    ['warn', ['warn', 'error', 'fatal']],
    ['error', ['error', 'fatal']],
  ])('at level %s writes only %j', (level, written) => {
    const { sink, log } = logger(level);
    for (const method of METHODS) log[method](`via ${method}`);
    expect(sink.entries().map((e) => e.msg)).toEqual(written.map((m) => `via ${m}`));
  });

  it('defaults to level info', () => {
    const sink = new Lines();
    const log = new JsonLogger({ agent: 'a' }, undefined, sink, {});
    log.debug('hidden');
    log.log('shown');
    expect(sink.entries().map((e) => e.msg)).toEqual(['shown']);
  });

  it('logs an Error with its message and its stack', () => {
    const { sink, log } = logger();
    const err = new Error('disk on fire');
    log.error(err, 'Status');
    const [entry] = sink.entries();
    expect(entry).toMatchObject({ level: 'error', msg: 'disk on fire', context: 'Status' });
    expect(entry?.stack).toBe(err.stack);
    expect(entry?.stack).toContain('disk on fire');
    expect(entry?.stack).toMatch(/\n\s+at /);
  });

  it('keeps the stack Nest passes before the context as detail', () => {
    const { sink, log } = logger();
    const err = new Error('handler failed');
    log.error('request failed', err.stack, 'Rpc');
    expect(sink.entries()).toEqual([
      expect.objectContaining({ msg: 'request failed', context: 'Rpc', detail: [err.stack] }),
    ]);
  });

  it('turns extra Error arguments into their stacks and keeps other values', () => {
    const { sink, log } = logger();
    const err = new Error('inner');
    log.warn('retrying', err, { attempt: 2 }, undefined, 'Bus');
    const [entry] = sink.entries();
    expect(entry).toMatchObject({ msg: 'retrying', context: 'Bus', detail: [err.stack, { attempt: 2 }] });
  });

  it('keeps a non-string message as JSON', () => {
    const { sink, log } = logger();
    log.log({ event: 'slot-switch', to: 'b' });
    expect(sink.entries()[0]?.msg).toEqual({ event: 'slot-switch', to: 'b' });
  });

  it('keeps a multi-line message on one line', () => {
    const { sink, log } = logger();
    log.warn('first\nsecond\r\nthird');
    expect(sink.writes).toHaveLength(1);
    expect(sink.entries()[0]?.msg).toBe('first\nsecond\r\nthird');
  });

  it.each<[LogLevel, Method, string]>([
    ['error', 'error', '<3>'],
    ['error', 'fatal', '<3>'],
    ['warn', 'warn', '<4>'],
    ['info', 'log', '<6>'],
    ['debug', 'debug', '<7>'],
    ['debug', 'verbose', '<7>'],
  ])('under journald prefixes %s lines (%s()) with %s, followed by valid JSON', (level, method, prefix) => {
    const { sink, log } = logger('debug', { JOURNAL_STREAM: '8:1234' });
    log[method]('to the journal\nwith two lines', 'Ctx');
    expect(sink.writes).toHaveLength(1);
    const line = sink.writes[0] ?? '';
    expect(line.startsWith(prefix)).toBe(true);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line.slice(prefix.length))).toMatchObject({
      level,
      msg: 'to the journal\nwith two lines',
    });
  });

  it.each([
    ['no JOURNAL_STREAM', {}],
    ['an empty JOURNAL_STREAM', { JOURNAL_STREAM: '' }],
  ])('writes bare JSON with %s', (_what, env) => {
    const { sink, log } = logger('debug', env);
    log.error('plain');
    expect(sink.writes[0]?.startsWith('{')).toBe(true);
  });

  describe('with()', () => {
    it('adds fields to a new logger and leaves the original alone', () => {
      const { sink, log } = logger('debug');
      const child = log.with({ node: 'edge-7' });
      child.log('from child');
      log.log('from parent');
      const [fromChild, fromParent] = sink.entries();
      expect(fromChild).toMatchObject({ agent: 'node-agent', node: 'edge-7', msg: 'from child' });
      expect(fromParent).toMatchObject({ agent: 'node-agent', msg: 'from parent' });
      expect(fromParent).not.toHaveProperty('node');
    });

    it('overrides fields it is given and chains', () => {
      const { sink, log } = logger('debug', {}, 'old-node');
      log.with({ agent: 'update-agent' }).with({ node: 'new-node' }).log('chained');
      expect(sink.entries()[0]).toMatchObject({ agent: 'update-agent', node: 'new-node' });
    });

    it('keeps the level', () => {
      const { sink, log } = logger('warn');
      const child = log.with({ node: 'n' });
      child.log('dropped');
      child.warn('kept');
      expect(sink.entries().map((e) => e.msg)).toEqual(['kept']);
    });

    it.each([
      ['keeps the journald prefix', { JOURNAL_STREAM: '8:1234' }, '<4>{'],
      ['stays bare without journald', {}, '{'],
    ])('%s', (_what, env, start) => {
      const { sink, log } = logger('debug', env);
      log.with({ node: 'n' }).warn('x');
      expect(sink.writes[0]?.startsWith(start)).toBe(true);
    });
  });
});
