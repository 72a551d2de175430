/**
 * Time, injectable: wall time for windows, a monotonic clock for deadlines, and sleeping until an
 * exact instant (one timer to the boundary, re-armed, never coarse polling). The agent gets its
 * Clock from a Nest provider (ORCHESTRATOR_CLOCK) so a test module can override it; the integration
 * tests keep the real clock and write windows relative to Date.now().
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

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleepUntil(instant, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(false);
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const arm = () => {
        const left = instant - Date.now();
        if (left <= 0) {
          signal?.removeEventListener('abort', onAbort);
          return resolve(true);
        }
        // Re-arm at the boundary: a wall-clock step while asleep is corrected on wake-up.
        timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
    });
  },
};

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
