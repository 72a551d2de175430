/** Maintenance windows: formats, DST (Berlin and New York, 2026), month ends, merging, jitter, install gate. */
import { describe, expect, it } from '@jest/globals';
import { parseLocalIso, resolveLocal } from './local-time.js';
import {
  canStartInstall,
  installDecision,
  nextWindows,
  parseWindow,
  startOffset,
  windowAt,
  type RawWindow,
  type WindowSpec,
} from './windows.js';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const spec = (raw: RawWindow): WindowSpec => {
  const s = parseWindow(raw, 0);
  if (typeof s === 'string') throw new Error(s);
  return s;
};
const wall = (text: string) => {
  const w = parseLocalIso(text);
  if (!w) throw new Error(text);
  return w;
};

describe('resolveLocal (DST decisions)', () => {
  it.each([
    ['ordinary winter time', 'Europe/Berlin', '2026-01-15T10:00', '2026-01-15T09:00:00Z'],
    ['ordinary summer time', 'Europe/Berlin', '2026-07-15T10:00', '2026-07-15T08:00:00Z'],
    ['skipped hour: first valid instant after', 'Europe/Berlin', '2026-03-29T02:30', '2026-03-29T01:00:00Z'],
    ['start of the skipped hour', 'Europe/Berlin', '2026-03-29T02:00', '2026-03-29T01:00:00Z'],
    ['just after the gap', 'Europe/Berlin', '2026-03-29T03:00', '2026-03-29T01:00:00Z'],
    ['repeated hour: first occurrence', 'Europe/Berlin', '2026-10-25T02:30', '2026-10-25T00:30:00Z'],
    ['after the repeated hour', 'Europe/Berlin', '2026-10-25T03:00', '2026-10-25T02:00:00Z'],
    ['US skipped hour', 'America/New_York', '2026-03-08T02:30', '2026-03-08T07:00:00Z'],
    ['US repeated hour: first occurrence', 'America/New_York', '2026-11-01T01:30', '2026-11-01T05:30:00Z'],
    ['US before the change', 'America/New_York', '2026-11-01T00:30', '2026-11-01T04:30:00Z'],
    ['US summer', 'America/New_York', '2026-07-04T12:00', '2026-07-04T16:00:00Z'],
    ['leap day', 'UTC', '2028-02-29T23:30', '2028-02-29T23:30:00Z'],
  ])('%s: %s %s -> %s', (_n, zone, local, expected) => {
    expect(iso(resolveLocal(wall(local), zone))).toBe(iso(t(expected)));
  });
});

describe('parseWindow refuses bad windows, naming the field', () => {
  it.each<[string, RawWindow, RegExp]>([
    [
      'unknown zone',
      { timeZone: 'Mars/Olympus', weekly: { days: ['mon'], startTime: '01:00', lengthMinutes: 60 } },
      /timeZone/,
    ],
    ['no zone', { weekly: { days: ['mon'], startTime: '01:00', lengthMinutes: 60 } }, /timeZone/],
    [
      'two kinds',
      {
        timeZone: 'UTC',
        cron: { cron: '0 1 * * *', durationMinutes: 5 },
        weekly: { days: ['mon'], startTime: '01:00', lengthMinutes: 5 },
      },
      /exactly one/,
    ],
    ['no kind', { timeZone: 'UTC' }, /exactly one/],
    [
      'cron with 6 fields',
      { timeZone: 'UTC', cron: { cron: '0 0 1 * * *', durationMinutes: 5 } },
      /5 fields/,
    ],
    [
      'cron out of range',
      { timeZone: 'UTC', cron: { cron: '0 25 * * *', durationMinutes: 5 } },
      /cron\.cron/,
    ],
    ['cron L', { timeZone: 'UTC', cron: { cron: '0 1 L * *', durationMinutes: 5 } }, /unsupported/],
    [
      'cron zero duration',
      { timeZone: 'UTC', cron: { cron: '0 1 * * *', durationMinutes: 0 } },
      /durationMinutes/,
    ],
    [
      'cron too long',
      { timeZone: 'UTC', cron: { cron: '0 1 * * *', durationMinutes: 50_000 } },
      /durationMinutes/,
    ],
    [
      'bad weekday',
      { timeZone: 'UTC', weekly: { days: ['monday'], startTime: '01:00', lengthMinutes: 60 } },
      /days "monday"/,
    ],
    [
      'no days',
      { timeZone: 'UTC', weekly: { days: [], startTime: '01:00', lengthMinutes: 60 } },
      /days is empty/,
    ],
    [
      '24:00',
      { timeZone: 'UTC', weekly: { days: ['mon'], startTime: '24:00', lengthMinutes: 60 } },
      /startTime/,
    ],
    [
      'h:mm',
      { timeZone: 'UTC', weekly: { days: ['mon'], startTime: '1:00', lengthMinutes: 60 } },
      /startTime/,
    ],
    [
      'fractional length',
      { timeZone: 'UTC', weekly: { days: ['mon'], startTime: '01:00', lengthMinutes: 1.5 } },
      /lengthMinutes/,
    ],
    [
      'Feb 30',
      { timeZone: 'UTC', single: { start: '2026-02-30T01:00', end: '2026-03-01T01:00' } },
      /single\.start/,
    ],
    [
      'offset given',
      { timeZone: 'UTC', single: { start: '2026-02-01T01:00Z', end: '2026-03-01T01:00' } },
      /single\.start/,
    ],
    [
      'end before start',
      { timeZone: 'UTC', single: { start: '2026-02-02T01:00', end: '2026-02-01T01:00' } },
      /after start/,
    ],
  ])('%s', (_n, raw, message) => {
    const result = parseWindow(raw, 0);
    expect(typeof result).toBe('string');
    expect(result).toMatch(message);
  });
});

describe('nextWindows', () => {
  it.each<[string, RawWindow[], string, number, [string, string][]]>([
    [
      'weekly Thursday 23:00 belongs to Thursday and runs into Friday',
      [{ timeZone: 'Europe/Berlin', weekly: { days: ['thu'], startTime: '23:00', lengthMinutes: 120 } }],
      '2026-01-14T12:00:00Z',
      2,
      [
        ['2026-01-15T22:00Z', '2026-01-16T00:00Z'],
        ['2026-01-22T22:00Z', '2026-01-23T00:00Z'],
      ],
    ],
    [
      'cron 02:00 daily in Berlin on spring-forward day starts at 03:00 CEST',
      [{ timeZone: 'Europe/Berlin', cron: { cron: '0 2 * * *', durationMinutes: 60 } }],
      '2026-03-28T12:00:00Z',
      2,
      [
        ['2026-03-29T01:00Z', '2026-03-29T02:00Z'],
        ['2026-03-30T00:00Z', '2026-03-30T01:00Z'],
      ],
    ],
    [
      'cron 02:30 daily in Berlin on fall-back day starts once, at the first 02:30',
      [{ timeZone: 'Europe/Berlin', cron: { cron: '30 2 * * *', durationMinutes: 30 } }],
      '2026-10-24T12:00:00Z',
      2,
      [
        ['2026-10-25T00:30Z', '2026-10-25T01:00Z'],
        ['2026-10-26T01:30Z', '2026-10-26T02:00Z'],
      ],
    ],
    [
      'cron 01:30 in New York on Nov 1 starts once (EDT)',
      [{ timeZone: 'America/New_York', cron: { cron: '30 1 * * *', durationMinutes: 30 } }],
      '2026-10-31T12:00:00Z',
      2,
      [
        ['2026-11-01T05:30Z', '2026-11-01T06:00Z'],
        ['2026-11-02T06:30Z', '2026-11-02T07:00Z'],
      ],
    ],
    [
      'weekly Sunday 02:30 in New York on Mar 8 starts at 03:00 EDT',
      [{ timeZone: 'America/New_York', weekly: { days: ['sun'], startTime: '02:30', lengthMinutes: 60 } }],
      '2026-03-07T12:00:00Z',
      1,
      [['2026-03-08T07:00Z', '2026-03-08T08:00Z']],
    ],
    [
      'a window across spring forward lasts its absolute length',
      [{ timeZone: 'Europe/Berlin', single: { start: '2026-03-29T01:00', end: '2026-03-29T04:00' } }],
      '2026-03-01T00:00:00Z',
      3,
      [['2026-03-29T00:00Z', '2026-03-29T02:00Z']],
    ],
    [
      'cron with hour range and short duration: separate windows (the open one first)',
      [{ timeZone: 'UTC', cron: { cron: '0 1-3 * * 1-5', durationMinutes: 30 } }],
      '2026-01-16T02:10:00Z',
      3,
      [
        ['2026-01-16T02:00Z', '2026-01-16T02:30Z'],
        ['2026-01-16T03:00Z', '2026-01-16T03:30Z'],
        ['2026-01-19T01:00Z', '2026-01-19T01:30Z'],
      ],
    ],
    [
      'cron occurrences that touch merge into one window (open now is included)',
      [{ timeZone: 'UTC', cron: { cron: '0 1-3 * * *', durationMinutes: 60 } }],
      '2026-01-16T02:10:00Z',
      2,
      [
        ['2026-01-16T01:00Z', '2026-01-16T04:00Z'],
        ['2026-01-17T01:00Z', '2026-01-17T04:00Z'],
      ],
    ],
    [
      'overlapping windows of different formats merge',
      [
        { timeZone: 'UTC', weekly: { days: ['mon'], startTime: '01:00', lengthMinutes: 120 } },
        { timeZone: 'Europe/Berlin', cron: { cron: '0 3 * * 1', durationMinutes: 120 } },
      ],
      '2026-01-18T00:00:00Z',
      1,
      [['2026-01-19T01:00Z', '2026-01-19T04:00Z']],
    ],
    [
      'a duration over 24 h (Friday 20:00 for 50 h)',
      [{ timeZone: 'Europe/Berlin', cron: { cron: '0 20 * * 5', durationMinutes: 3000 } }],
      '2026-01-17T12:00:00Z',
      1,
      [['2026-01-16T19:00Z', '2026-01-18T21:00Z']],
    ],
    [
      'Feb 28 (Saturday) into March 1',
      [{ timeZone: 'UTC', weekly: { days: ['sat'], startTime: '23:00', lengthMinutes: 120 } }],
      '2026-02-27T00:00:00Z',
      1,
      [['2026-02-28T23:00Z', '2026-03-01T01:00Z']],
    ],
    [
      'Feb 29 only: the next leap year',
      [{ timeZone: 'Europe/Berlin', cron: { cron: '0 0 29 2 *', durationMinutes: 60 } }],
      '2026-01-01T00:00:00Z',
      1,
      [['2028-02-28T23:00Z', '2028-02-29T00:00Z']],
    ],
    [
      'day 31 skips the short months',
      [{ timeZone: 'Europe/Berlin', cron: { cron: '0 23 31 * *', durationMinutes: 60 } }],
      '2026-04-01T00:00:00Z',
      2,
      [
        ['2026-05-31T21:00Z', '2026-05-31T22:00Z'],
        ['2026-07-31T21:00Z', '2026-07-31T22:00Z'],
      ],
    ],
    [
      'year end across midnight',
      [{ timeZone: 'UTC', cron: { cron: '0 23 31 12 *', durationMinutes: 120 } }],
      '2026-12-01T00:00:00Z',
      1,
      [['2026-12-31T23:00Z', '2027-01-01T01:00Z']],
    ],
    [
      'a single window in the past: none',
      [{ timeZone: 'UTC', single: { start: '2026-01-01T00:00', end: '2026-01-01T01:00' } }],
      '2026-02-01T00:00:00Z',
      2,
      [],
    ],
  ])('%s', (_n, raws, now, count, expected) => {
    const got = nextWindows(raws.map(spec), t(now), count).map((w) => [iso(w.start), iso(w.end)]);
    expect(got).toEqual(expected.map(([a, b]) => [iso(t(a)), iso(t(b))]));
  });
});

describe('windowAt', () => {
  const weekly = spec({
    timeZone: 'Europe/Berlin',
    weekly: { days: ['thu'], startTime: '23:00', lengthMinutes: 120 },
  });
  it.each([
    ['before the window', '2026-01-15T21:59:59Z', undefined],
    ['at its start', '2026-01-15T22:00:00Z', '2026-01-16T00:00:00Z'],
    ['after local midnight (Friday)', '2026-01-15T23:30:00Z', '2026-01-16T00:00:00Z'],
    ['at its end (exclusive)', '2026-01-16T00:00:00Z', undefined],
  ])('%s', (_n, now, end) => {
    const w = windowAt([weekly], t(now));
    expect(w === undefined ? undefined : new Date(w.end).toISOString()).toBe(
      end === undefined ? undefined : new Date(t(end)).toISOString(),
    );
  });
});

describe('startOffset (deterministic jitter)', () => {
  const window = { start: t('2026-01-15T22:00:00Z'), end: t('2026-01-16T02:00:00Z') };
  it('is the same for the same node and inside the first quarter', () => {
    const a = startOffset('node-a', window);
    expect(startOffset('node-a', window)).toBe(a);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(3_600_000);
  });
  it('spreads a fleet over the first quarter', () => {
    const offsets = Array.from({ length: 200 }, (_, i) => startOffset(`node-${i}`, window));
    expect(Math.min(...offsets)).toBeLessThan(360_000);
    expect(Math.max(...offsets)).toBeGreaterThan(3_240_000);
    expect(new Set(offsets).size).toBeGreaterThan(190);
  });
  it.each([0, 0.5])('honours the fraction %p', (fraction) => {
    expect(startOffset('node-a', window, fraction)).toBeLessThanOrEqual(4 * 3_600_000 * fraction);
  });
});

describe('canStartInstall', () => {
  const daily = [spec({ timeZone: 'UTC', cron: { cron: '0 1 * * *', durationMinutes: 120 } })];
  const M = 60_000;
  it.each([
    ['inside with time left', '2026-01-10T01:30:00Z', 60 * M, 0, true, /enough/],
    ['inside, exactly enough', '2026-01-10T02:00:00Z', 60 * M, 0, true, /enough/],
    ['inside, too little left', '2026-01-10T02:30:00Z', 60 * M, 0, false, /closes in 1800 s/],
    ['inside, the minimum is larger', '2026-01-10T01:30:00Z', 10 * M, 100 * M, false, /needs 6000 s/],
    ['outside', '2026-01-10T03:00:00Z', 10 * M, 0, false, /outside/],
  ])('%s', (_n, now, expected, minimum, ok, reason) => {
    const r = canStartInstall(t(now), daily, expected, minimum);
    expect(r.ok).toBe(ok);
    expect(r.reason).toMatch(reason);
  });
});

describe('installDecision', () => {
  const daily = [spec({ timeZone: 'UTC', cron: { cron: '0 1 * * *', durationMinutes: 120 } })];
  const M = 60_000;
  const offset = startOffset('n1', { start: t('2026-01-10T01:00:00Z'), end: t('2026-01-10T03:00:00Z') });
  it.each([
    [
      'outside: wait for the jittered start of the next window',
      '2026-01-10T00:00:00Z',
      30 * M,
      t('2026-01-10T01:00:00Z') + offset,
    ],
    [
      "in the window before this node's offset",
      '2026-01-10T01:00:00Z',
      30 * M,
      offset === 0 ? 'install' : t('2026-01-10T01:00:00Z') + offset,
    ],
    ['in the window after the offset with time left', '2026-01-10T01:45:00Z', 30 * M, 'install'],
    ['too little left: the next day', '2026-01-10T02:45:00Z', 30 * M, t('2026-01-11T01:00:00Z') + offset],
  ])('%s', (_n, now, expected, outcome) => {
    const d = installDecision(t(now), daily, 'n1', expected);
    if (outcome === 'install') expect(d.action).toBe('install');
    else expect(d).toMatchObject({ action: 'wait', until: outcome });
  });
  it('waits without an instant when no window is long enough', () => {
    const d = installDecision(t('2026-01-10T00:00:00Z'), daily, 'n1', 180 * M);
    expect(d.action).toBe('wait');
    expect(d.action === 'wait' ? d.until : 0).toBeUndefined();
    expect(d.action === 'wait' && d.reason).toMatch(/no maintenance window/);
  });
  it('the jitter never eats the time the update needs', () => {
    const d = installDecision(t('2026-01-10T01:00:00Z') + 5 * M, daily, 'n1', 115 * M);
    expect(
      d.action === 'install' || (d.action === 'wait' && (d.until ?? 0) <= t('2026-01-10T01:05:00Z')),
    ).toBe(true);
  });
});
