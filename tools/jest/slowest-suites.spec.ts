/** The reporter's choice and table: the ten slowest suites, slowest first, failures marked. */
import { describe, expect, it } from '@jest/globals';
import { formatSlowest, slowestSuites, type SuiteResult } from './slowest-suites.mjs';

const suite = (name: string, seconds: number, numFailingTests = 0): SuiteResult => ({
  testFilePath: `/repo/${name}.spec.ts`,
  perfStats: { start: 1_000, end: 1_000 + seconds * 1000 },
  numFailingTests,
});

describe('slowest suites', () => {
  it('keeps the ten slowest, slowest first, with paths from the root', () => {
    const results = Array.from({ length: 14 }, (_, i) => suite(`s${i}`, i + 0.25));
    const slowest = slowestSuites(results, '/repo');
    expect(slowest).toHaveLength(10);
    expect(slowest[0]).toEqual({ path: 's13.spec.ts', seconds: 13.25, failed: false });
    expect(slowest.at(-1)?.path).toBe('s4.spec.ts');
  });

  it('prints a table with aligned seconds and the failed suites marked', () => {
    const text = formatSlowest(slowestSuites([suite('a', 2.5), suite('b', 120, 1)], '/repo'));
    expect(text.split('\n')).toEqual([
      'Slowest 2 test suites:',
      '  120.0 s  b.spec.ts  (failed)',
      '    2.5 s  a.spec.ts',
    ]);
  });
});
