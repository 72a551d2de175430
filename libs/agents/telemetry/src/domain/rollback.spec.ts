/** The rollback decision on an apply report, table-driven. */
import { describe, expect, it } from '@jest/globals';
import { decideApply, type ApplyState } from './rollback.js';

const state = (
  effectiveGeneration: number,
  lastGoodGeneration: number,
  effectiveIsRollback = false,
): ApplyState => ({
  effectiveGeneration,
  lastGoodGeneration,
  effectiveIsRollback,
});

describe('decideApply', () => {
  it.each([
    ['the generation in force applied', state(3, 2), { generation: 3, ok: true }, 'confirm'],
    [
      'the generation in force failed, a good one exists',
      state(3, 2),
      { generation: 3, ok: false },
      'rollback',
    ],
    ['failed with nothing ever applied', state(1, 0), { generation: 1, ok: false }, 'stuck'],
    ['a rollback failed too', state(4, 2, true), { generation: 4, ok: false }, 'stuck'],
    ['the last good one itself failed later', state(2, 2), { generation: 2, ok: false }, 'stuck'],
    ['a report on an older generation', state(3, 2), { generation: 2, ok: false }, 'stale'],
    ['an ok on an older generation', state(3, 1), { generation: 2, ok: true }, 'stale'],
  ])('%s', (_name, s, report, action) => {
    expect(decideApply(s, report).action).toBe(action);
  });

  it('rolls back to the last good generation', () => {
    expect(decideApply(state(5, 3), { generation: 5, ok: false })).toEqual({ action: 'rollback', to: 3 });
  });
});
