import { describe, expect, it } from '@jest/globals';
import { matches, parseSelector } from './selector.js';

const berlinProd = { site: 'berlin', tier: 'prod' };
const parisCanary = { site: 'paris', tier: 'canary' };
const bare = {};

describe('label selectors', () => {
  it.each([
    ['', [true, true, true]],
    ['site=berlin', [true, false, false]],
    ['site==berlin', [true, false, false]],
    ['site!=berlin', [false, true, true]],
    ['site=berlin,tier!=canary', [true, false, false]],
    ['site in (berlin, paris)', [true, true, false]],
    ['tier notin (canary)', [true, false, true]],
    ['site', [true, true, false]],
    ['!site', [false, false, true]],
    ['site in (paris),tier=canary', [false, true, false]],
    ['  site = berlin ', [true, false, false]],
    ['example.com/zone=a', [false, false, false]],
  ] as const)('"%s" selects %j of berlin-prod, paris-canary, no labels', (text, expected) => {
    const parsed = parseSelector(text);
    if (!parsed.ok) throw new Error(parsed.problem);
    expect([berlinProd, parisCanary, bare].map((l) => matches(parsed.selector, l))).toEqual(expected);
  });

  it.each([
    ['site=berlin,', 'empty requirement'],
    ['site in (a', 'unbalanced'],
    ['site in ()', 'is not a label value'],
    ['site=ber lin', 'is not a label value'],
    ['-site', 'is not a label key'],
    ['site=a=b', 'is not a label value'],
    ['a)', 'unbalanced'],
  ])('refuses "%s" (%s)', (text, problem) => {
    const parsed = parseSelector(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(problem);
  });
});
