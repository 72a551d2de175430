/** The retry schedule: exponential from the initial wait, capped. */
import { describe, expect, it } from '@jest/globals';
import { retryDelayMs } from './backoff.js';

describe('retryDelayMs', () => {
  const policy = { initialMs: 1_000, maxMs: 30_000, factor: 2 };
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [5, 16_000],
    [6, 30_000],
    [7, 30_000],
    [10_000, 30_000],
    [0, 1_000],
  ])('after %d failures waits %d ms', (failures, ms) => {
    expect(retryDelayMs(failures, policy)).toBe(ms);
  });

  it.each([
    [{ initialMs: 500, maxMs: 500, factor: 3 }, [500, 500, 500]],
    [{ initialMs: 100, maxMs: 10_000, factor: 1 }, [100, 100, 100]],
    [{ initialMs: 100, maxMs: 1_000, factor: 3 }, [100, 300, 900, 1_000]],
  ])('follows %j', (p, schedule) => {
    expect(schedule.map((_, i) => retryDelayMs(i + 1, p))).toEqual(schedule);
  });
});
