/**
 * Maintenance windows: when may this node install and reboot. Three formats, each in an IANA zone:
 * a single interval, a cron schedule with a duration, and weekly days at a local start time. Windows
 * are computed as absolute intervals (epoch ms) and overlapping or touching ones merge. DST rules are
 * those of local-time.ts; a window's length is absolute (a 3 h window across a DST change lasts 3 h).
 * A window belongs to the local day it starts on (weekly "thu 23:00" runs into Friday).
 */
import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { isValidZone, localDate, parseLocalIso, resolveLocal, type WallTime } from './local-time.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export type WindowSpec =
  | { kind: 'single'; timeZone: string; start: WallTime; end: WallTime }
  | { kind: 'cron'; timeZone: string; cron: string; durationMinutes: number }
  | {
      kind: 'weekly';
      timeZone: string;
      days: Weekday[];
      startTime: { hour: number; minute: number };
      lengthMinutes: number;
    };

/** A concrete window: [start, end) in epoch ms. */
export interface Interval {
  start: number;
  end: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Durations above this are refused: a "window" of more than 31 days is a misconfiguration. */
export const MAX_WINDOW_MINUTES = 31 * 24 * 60;
/** How far ahead windows are searched (a Feb 29 cron fires once in four years). */
const HORIZON_MS = 5 * 366 * DAY;

/** The raw (JSON) shape of a window as the desired state carries it. */
export interface RawWindow {
  timeZone?: string;
  single?: { start?: string; end?: string };
  cron?: { cron?: string; durationMinutes?: number };
  weekly?: { days?: string[]; startTime?: string; lengthMinutes?: number };
}

/** Validates one raw window; returns the spec or the reason naming the field. */
export function parseWindow(raw: RawWindow, index: number): WindowSpec | string {
  const at = `windows[${index}]`;
  const zone = raw.timeZone ?? '';
  if (!zone || !isValidZone(zone)) return `${at}.timeZone "${zone}" is not an IANA time zone`;
  const kinds = [raw.single, raw.cron, raw.weekly].filter((k) => k !== undefined).length;
  if (kinds !== 1) return `${at} must have exactly one of single, cron, weekly (has ${kinds})`;
  if (raw.single) {
    const start = parseLocalIso(raw.single.start ?? '');
    const end = parseLocalIso(raw.single.end ?? '');
    if (!start) return `${at}.single.start "${raw.single.start ?? ''}" is not a local yyyy-mm-ddThh:mm`;
    if (!end) return `${at}.single.end "${raw.single.end ?? ''}" is not a local yyyy-mm-ddThh:mm`;
    const spec: WindowSpec = { kind: 'single', timeZone: zone, start, end };
    const iv = occurrences(spec, -Infinity, Infinity)[0];
    if (!iv || iv.end <= iv.start) return `${at}.single.end must be after start`;
    if (iv.end - iv.start > MAX_WINDOW_MINUTES * MINUTE) return `${at}.single is longer than 31 days`;
    return spec;
  }
  if (raw.cron) {
    const cron = (raw.cron.cron ?? '').trim();
    const duration = raw.cron.durationMinutes ?? 0;
    const problem = cronProblem(cron);
    if (problem) return `${at}.cron.cron "${cron}": ${problem}`;
    if (!Number.isInteger(duration) || duration < 1 || duration > MAX_WINDOW_MINUTES)
      return `${at}.cron.durationMinutes ${duration} is not in 1..${MAX_WINDOW_MINUTES}`;
    return { kind: 'cron', timeZone: zone, cron, durationMinutes: duration };
  }
  const weekly = raw.weekly ?? {};
  const days = weekly.days ?? [];
  if (days.length === 0) return `${at}.weekly.days is empty`;
  const bad = days.find((d) => !(WEEKDAYS as readonly string[]).includes(d));
  if (bad !== undefined) return `${at}.weekly.days "${bad}" is not one of ${WEEKDAYS.join(',')}`;
  const t = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(weekly.startTime ?? '');
  if (!t) return `${at}.weekly.startTime "${weekly.startTime ?? ''}" is not hh:mm`;
  const length = weekly.lengthMinutes ?? 0;
  if (!Number.isInteger(length) || length < 1 || length > MAX_WINDOW_MINUTES)
    return `${at}.weekly.lengthMinutes ${length} is not in 1..${MAX_WINDOW_MINUTES}`;
  return {
    kind: 'weekly',
    timeZone: zone,
    days: [...new Set(days as Weekday[])],
    startTime: { hour: Number(t[1]), minute: Number(t[2]) },
    lengthMinutes: length,
  };
}

function cronProblem(cron: string): string | undefined {
  if (cron.split(/\s+/).length !== 5) return 'needs 5 fields (minute hour day-of-month month day-of-week)';
  if (/[^0-9*,/\-a-zA-Z\s]/.test(cron) || /\bL\b|W/.test(cron)) return 'uses an unsupported character';
  try {
    CronExpressionParser.parse(cron, { strict: false });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function durationMs(spec: WindowSpec): number {
  if (spec.kind === 'cron') return spec.durationMinutes * MINUTE;
  if (spec.kind === 'weekly') return spec.lengthMinutes * MINUTE;
  return resolveLocal(spec.end, spec.timeZone) - resolveLocal(spec.start, spec.timeZone);
}

/** Every occurrence of one window that overlaps [from, to). */
export function occurrences(spec: WindowSpec, from: number, to: number): Interval[] {
  if (spec.kind === 'single') {
    const iv = { start: resolveLocal(spec.start, spec.timeZone), end: resolveLocal(spec.end, spec.timeZone) };
    return iv.start < to && iv.end > from ? [iv] : [];
  }
  const length = durationMs(spec);
  const match = spec.kind === 'cron' ? cronDayMatcher(spec.cron) : weeklyDayMatcher(spec);
  const out: Interval[] = [];
  // Walk local calendar days from the earliest one whose window could still be open at `from`.
  let day = localDate(from - length - DAY, spec.timeZone).startOf('day');
  const last = localDate(to + DAY, spec.timeZone).startOf('day');
  while (day <= last) {
    for (const [hour, minute] of match(day.year, day.month, day.day, day.weekday)) {
      const start = resolveLocal(
        { year: day.year, month: day.month, day: day.day, hour, minute },
        spec.timeZone,
      );
      if (start < to && start + length > from) out.push({ start, end: start + length });
    }
    day = day.plus({ days: 1 });
  }
  return out;
}

type DayMatcher = (year: number, month: number, day: number, weekday: number) => [number, number][];

function cronDayMatcher(cron: string): DayMatcher {
  const f = CronExpressionParser.parse(cron).fields;
  const months = new Set<number>(f.month.values as number[]);
  const doms = new Set<number>(f.dayOfMonth.values as number[]);
  // cron day-of-week: 0 and 7 are Sunday; luxon: 1 = Monday .. 7 = Sunday.
  const dows = new Set<number>((f.dayOfWeek.values as number[]).map((d) => (d === 0 ? 7 : d)));
  const domAny = f.dayOfMonth.isWildcard;
  const dowAny = f.dayOfWeek.isWildcard;
  const times: [number, number][] = [];
  for (const h of f.hour.values as number[]) for (const m of f.minute.values as number[]) times.push([h, m]);
  return (_year, month, day, weekday) => {
    if (!months.has(month)) return [];
    // Classic cron: with both day fields restricted, either may match.
    const dayOk =
      domAny && dowAny
        ? true
        : domAny
          ? dows.has(weekday)
          : dowAny
            ? doms.has(day)
            : doms.has(day) || dows.has(weekday);
    return dayOk ? times : [];
  };
}

function weeklyDayMatcher(spec: Extract<WindowSpec, { kind: 'weekly' }>): DayMatcher {
  const days = new Set(spec.days.map((d) => WEEKDAYS.indexOf(d) + 1));
  const time: [number, number][] = [[spec.startTime.hour, spec.startTime.minute]];
  return (_y, _m, _d, weekday) => (days.has(weekday) ? time : []);
}

/** Sorted, with overlapping or touching intervals merged. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && iv.start <= last.end) last.end = Math.max(last.end, iv.end);
    else out.push({ ...iv });
  }
  return out;
}

/** The next `count` merged windows that are open at `now` or start after it. */
export function nextWindows(specs: readonly WindowSpec[], now: number, count: number): Interval[] {
  if (specs.length === 0 || count <= 0) return [];
  const longest = Math.max(...specs.map(durationMs));
  for (let span = 8 * DAY; ; span *= 4) {
    const to = now + Math.min(span, HORIZON_MS);
    // Generate past the horizon by one window length so a merge at the edge is complete.
    const all = specs.flatMap((s) => occurrences(s, now - 2 * longest - DAY, to + longest));
    const merged = mergeIntervals(all).filter((iv) => iv.end > now && iv.start < to);
    if (merged.length >= count || span >= HORIZON_MS) return merged.slice(0, count);
  }
}

/** The window open at `now` (start <= now < end), if any. */
export function windowAt(specs: readonly WindowSpec[], now: number): Interval | undefined {
  const first = nextWindows(specs, now, 1)[0];
  return first && first.start <= now ? first : undefined;
}

/**
 * Deterministic jitter: this node's offset into a window, spread over its first `fraction`
 * (a hash of the node id, so a fleet does not reboot at the same second and a node always picks
 * the same point).
 */
export function startOffset(nodeId: string, window: Interval, fraction = 0.25): number {
  const spread = Math.floor((window.end - window.start) * fraction);
  if (spread <= 0) return 0;
  const h = createHash('sha256').update(nodeId).digest().readUInt32BE(0);
  return Math.floor((h / 2 ** 32) * spread);
}

export interface InstallCheck {
  ok: boolean;
  window?: Interval;
  reason: string;
}

/** May an install start now: inside a window with time left for install + reboot + verification. */
export function canStartInstall(
  now: number,
  specs: readonly WindowSpec[],
  expectedDurationMs: number,
  minimumMs = 0,
): InstallCheck {
  const open = windowAt(specs, now);
  if (!open) return { ok: false, reason: 'outside every maintenance window' };
  const needed = Math.max(expectedDurationMs, minimumMs);
  const left = open.end - now;
  if (left < needed)
    return {
      ok: false,
      window: open,
      reason: `window closes in ${Math.round(left / 1000)} s, the update needs ${Math.round(needed / 1000)} s`,
    };
  return { ok: true, window: open, reason: 'inside a maintenance window with enough time left' };
}

export type InstallDecision =
  | { action: 'install'; window: Interval }
  | { action: 'wait'; until?: number; window?: Interval; reason: string };

/**
 * What to do now: install, or wait until an exact instant (the next boundary: this node's jittered
 * start in a window, or the next window). `until` undefined: no window in the search horizon.
 */
export function installDecision(
  now: number,
  specs: readonly WindowSpec[],
  nodeId: string,
  expectedDurationMs: number,
  minimumMs = 0,
  jitterFraction = 0.25,
): InstallDecision {
  const needed = Math.max(expectedDurationMs, minimumMs);
  for (const w of nextWindows(specs, now, 50)) {
    if (w.end - w.start < needed) continue;
    // The jitter never eats the time the update needs.
    const offset = Math.min(startOffset(nodeId, w, jitterFraction), w.end - w.start - needed);
    const notBefore = w.start + offset;
    if (now >= notBefore && w.end - now >= needed) return { action: 'install', window: w };
    if (now < notBefore)
      return {
        action: 'wait',
        until: notBefore,
        window: w,
        reason:
          now >= w.start
            ? `in a window; this node's start offset begins at ${new Date(notBefore).toISOString()}`
            : `outside every maintenance window; next opens at ${new Date(w.start).toISOString()}`,
      };
  }
  return {
    action: 'wait',
    reason: `no maintenance window ahead is long enough for ${Math.round(needed / 1000)} s`,
  };
}
