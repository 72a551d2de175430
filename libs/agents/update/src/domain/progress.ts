/**
 * Progress of a phase (download or install): rate and ETA from bytes over elapsed time, throttled to
 * one report per interval (plus the last). Time is passed in, so this stays pure and testable.
 */

export interface ProgressReport {
  bytes: number;
  total: number;
  /** Bytes per second over this run of the phase. */
  rate: number;
  /** Seconds left at that rate; undefined while the rate is unknown. */
  etaSeconds?: number;
}

export class ProgressMeter {
  private lastReport = Number.NEGATIVE_INFINITY;

  /** `startBytes`: bytes already there when the phase (re)started (a resumed download). */
  constructor(
    private readonly total: number,
    private readonly intervalMs: number,
    private readonly startedAt: number,
    private readonly startBytes = 0,
  ) {}

  /** A report if one is due at `now` (always for the final byte), else undefined. */
  update(bytes: number, now: number): ProgressReport | undefined {
    const done = bytes >= this.total;
    if (!done && now - this.lastReport < this.intervalMs) return undefined;
    this.lastReport = now;
    const elapsed = (now - this.startedAt) / 1000;
    const moved = Math.max(0, bytes - this.startBytes);
    const rate = elapsed > 0 ? moved / elapsed : 0;
    const left = Math.max(0, this.total - bytes);
    return {
      bytes,
      total: this.total,
      rate,
      etaSeconds: done ? 0 : rate > 0 ? left / rate : undefined,
    };
  }
}
