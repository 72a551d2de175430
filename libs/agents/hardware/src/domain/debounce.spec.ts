/** The udev debounce: a burst gives one scan; a never-ending burst is still scanned. Fake timers. */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Debouncer } from './debounce.js';

describe('Debouncer', () => {
  let fired: number;
  let d: Debouncer;

  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
    fired = 0;
    d = new Debouncer(
      100,
      500,
      () => void fired++,
      () => Date.now(),
    );
  });
  afterEach(() => {
    d.cancel();
    jest.useRealTimers();
  });

  it('fires once after a burst goes quiet', () => {
    for (let i = 0; i < 10; i++) {
      d.poke();
      jest.advanceTimersByTime(20);
    }
    expect(fired).toBe(0);
    jest.advanceTimersByTime(100);
    expect(fired).toBe(1);
    expect(d.pending).toBe(false);
  });

  it('fires at the latest the max delay after the first event of an endless burst', () => {
    for (let i = 0; i < 30; i++) {
      d.poke();
      jest.advanceTimersByTime(50);
    }
    expect(fired).toBe(3);
  });

  it('fires nothing once cancelled', () => {
    d.poke();
    d.cancel();
    jest.advanceTimersByTime(1000);
    expect(fired).toBe(0);
  });
});
