/** Progress reports: throttled, with rate and ETA, and always the final one. */
import { describe, expect, it } from '@jest/globals';
import { ProgressMeter } from './progress.js';

describe('ProgressMeter', () => {
  it('reports at most once per interval, and always the last byte', () => {
    const meter = new ProgressMeter(1000, 100, 0);
    expect(meter.update(100, 10)).toMatchObject({ bytes: 100, total: 1000 });
    expect(meter.update(200, 50)).toBeUndefined();
    expect(meter.update(300, 110)).toMatchObject({ bytes: 300 });
    expect(meter.update(1000, 120)).toMatchObject({ bytes: 1000, etaSeconds: 0 });
  });

  it.each([
    // total, start bytes, bytes, at ms, rate, eta
    [1000, 0, 500, 1000, 500, 1],
    [1000, 400, 600, 1000, 200, 2],
    [1000, 0, 0, 1000, 0, undefined],
  ])(
    'of %i bytes resumed at %i: %i after %i ms is %i B/s, ETA %s s',
    (total, start, bytes, at, rate, eta) => {
      const report = new ProgressMeter(total, 10, 0, start).update(bytes, at);
      expect(report?.rate).toBe(rate);
      expect(report?.etaSeconds).toBe(eta);
    },
  );
});
