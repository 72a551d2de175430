/**
 * Time, injectable: wall time for windows, a monotonic clock for deadlines, and sleeping until an
 * exact instant (one timer to the boundary, re-armed, never coarse polling). The agent gets its
 * Clock from a Nest provider (ORCHESTRATOR_CLOCK); `OrchestratorModule.withClock` puts another in its
 * place, e.g. a ShiftedClock an end-to-end test steps to the opening of a window.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  now(): number;
  monotonic(): number;
  /** Resolves at `instant` (wall ms), or at once if it has passed; false if cancelled first. */
  sleepUntil(instant: number, signal?: AbortSignal): Promise<boolean>;
}

/** Node timers cap at 2^31-1 ms (~24.8 days): a longer sleep is re-armed in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Sleeps until `instant` on the wall clock `now`: one timer to the boundary, re-armed on wake-up (a
 * wall-clock step while asleep is corrected then) and whenever `wakers` are called (a step we know of).
 */
function sleepUntilWall(
  now: () => number,
  instant: number,
  signal?: AbortSignal,
  wakers?: Set<() => void>,
): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    let timer: NodeJS.Timeout | undefined;
    const done = (ok: boolean) => {
      clearTimeout(timer);
      wakers?.delete(arm);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    function arm() {
      clearTimeout(timer);
      const left = instant - now();
      if (left <= 0) return done(true);
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    wakers?.add(arm);
    arm();
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleepUntil: (instant, signal) => sleepUntilWall(() => Date.now(), instant, signal),
};

/**
 * The system clock with a wall-time offset a test moves, like an NTP step: real time runs on (timers,
 * monotonic deadlines), but a window hours away opens at once when the test shifts the clock to it.
 * Sleepers re-check at each shift.
 */
export class ShiftedClock implements Clock {
  private offsetMs = 0;
  private readonly wakers = new Set<() => void>();

  now(): number {
    return Date.now() + this.offsetMs;
  }

  monotonic(): number {
    return performance.now();
  }

  sleepUntil(instant: number, signal?: AbortSignal): Promise<boolean> {
    return sleepUntilWall(() => this.now(), instant, signal, this.wakers);
  }

  /** Steps the wall time by `ms` (back when negative) and wakes the sleepers to re-check. */
  shift(ms: number): void {
    this.offsetMs += ms;
    for (const wake of [...this.wakers]) wake();
  }
}

/** A clock a test moves by hand: sleepers wake when `set`/`advance` passes their instant. */
export class TestClock implements Clock {
  private sleepers: { instant: number; wake: (ok: boolean) => void }[] = [];
  private mono = 0;

  constructor(private wall: number) {}

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  sleepUntil(instant: number, signal?: AbortSignal): Promise<boolean> {
    if (instant <= this.wall) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const sleeper = { instant, wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        resolve(false);
      });
    });
  }

  advance(ms: number): void {
    this.mono += ms;
    this.wall += ms;
    const due = this.sleepers.filter((s) => s.instant <= this.wall);
    this.sleepers = this.sleepers.filter((s) => s.instant > this.wall);
    for (const s of due) s.wake(true);
  }

  pending(): number {
    return this.sleepers.length;
  }
}
