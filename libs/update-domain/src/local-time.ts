/**
 * Local wall-clock time -> instant in an IANA zone, with the DST decisions of docs/updates.md:
 * a wall time in a skipped hour (spring forward) resolves to the first valid instant after it (the
 * transition itself, e.g. 02:30 -> 03:00 on 29 Mar 2026 in Berlin); a wall time in a repeated hour
 * (fall back) resolves to its first occurrence (the earlier instant). Luxon alone picks the later
 * occurrence and shifts skipped times by the gap, hence this wrapper.
 */
import { DateTime, IANAZone } from 'luxon';

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

const MINUTE = 60_000;
const zones = new Map<string, IANAZone>();

function zoneOf(name: string): IANAZone {
  let z = zones.get(name);
  if (!z) {
    z = IANAZone.create(name);
    zones.set(name, z);
  }
  return z;
}

/** Offset of the zone at an instant, in ms. */
function offsetAt(zone: IANAZone, ms: number): number {
  return zone.offset(ms) * MINUTE;
}

/** The instant (epoch ms) of a local wall time in a zone. */
export function resolveLocal(wall: WallTime, zoneName: string): number {
  const zone = zoneOf(zoneName);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  // Every offset the zone uses around that day: at most two across one transition.
  const offsets = new Set([
    offsetAt(zone, asUtc - 36 * 3_600_000),
    offsetAt(zone, asUtc),
    offsetAt(zone, asUtc + 36 * 3_600_000),
  ]);
  const valid = [...offsets].map((o) => asUtc - o).filter((ms) => offsetAt(zone, ms) === asUtc - ms);
  if (valid.length > 0) return Math.min(...valid);
  // A gap: the first instant whose wall time is at or past the requested one is the transition.
  // Transitions fall on whole minutes and a gap spans the difference of the two offsets (<= 2 h).
  const candidates = [...offsets].map((o) => asUtc - o);
  const from = Math.floor(Math.min(...candidates) / MINUTE) * MINUTE;
  const to = Math.max(...candidates);
  for (let m = from; m <= to; m += MINUTE) if (m + offsetAt(zone, m) >= asUtc) return m;
  return to;
}

/** The local calendar date (and weekday 1 = Monday .. 7 = Sunday) of an instant in a zone. */
export function localDate(ms: number, zoneName: string): DateTime {
  return DateTime.fromMillis(ms, { zone: zoneName });
}

/** Parses a local ISO date-time without offset ("2026-03-29T02:30"); undefined if it is not one. */
export function parseLocalIso(text: string): WallTime | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::00)?$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = m.slice(1).map(Number);
  const probe = DateTime.fromObject({ year, month, day, hour, minute }, { zone: 'UTC' });
  if (!probe.isValid || probe.day !== day || hour > 23 || minute > 59) return undefined;
  return { year, month, day, hour, minute };
}
