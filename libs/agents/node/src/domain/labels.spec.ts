import { describe, expect, it } from '@jest/globals';
import { parseLabels } from './labels.js';

describe('node labels', () => {
  it.each([
    [[], {}],
    [['site=berlin'], { site: 'berlin' }],
    [['site=berlin', 'tier=canary'], { site: 'berlin', tier: 'canary' }],
    [['example.com/rack=r-1'], { 'example.com/rack': 'r-1' }],
    [['empty='], { empty: '' }],
  ])('%j → %j', (items, labels) => {
    expect(parseLabels(items)).toEqual({ ok: true, labels });
  });

  it.each([
    [['site'], 'is not key=value'],
    [['=berlin'], 'is not a label key'],
    [['site=ber lin'], 'is not a label value'],
    [['site=a', 'site=b'], 'given twice'],
  ])('refuses %j (%s)', (items, problem) => {
    const parsed = parseLabels(items);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(problem);
  });
});
