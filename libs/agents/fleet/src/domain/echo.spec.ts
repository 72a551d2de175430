import { describe, expect, it } from '@jest/globals';
import { echo, EMPTY_RECORD, type EchoOutcome } from './echo.js';

const limits = { maxTextLength: 5 };

describe('echo', () => {
  it.each<[string, string, EchoOutcome]>([
    [
      'accepts a short text',
      'hi',
      { ok: true, sequence: 1, record: { echoes: 1, lastText: 'hi', lastEchoAtMs: 7 } },
    ],
    [
      'counts characters, not bytes',
      'ééééé',
      { ok: true, sequence: 1, record: { echoes: 1, lastText: 'ééééé', lastEchoAtMs: 7 } },
    ],
    ['rejects an empty text', '', { ok: false, problem: 'text is required' }],
    ['rejects blanks only', '   ', { ok: false, problem: 'text is required' }],
    [
      'rejects a text over the limit',
      'sixsix',
      { ok: false, problem: 'text has 6 characters; at most 5 are allowed' },
    ],
  ])('%s', (_case, text, expected) => {
    expect(echo(EMPTY_RECORD, text, limits, 7)).toEqual(expected);
  });

  it('numbers echoes on from the record', () => {
    const first = echo(EMPTY_RECORD, 'a', limits, 1);
    if (!first.ok) throw new Error(first.problem);
    expect(echo(first.record, 'b', limits, 2)).toEqual({
      ok: true,
      sequence: 2,
      record: { echoes: 2, lastText: 'b', lastEchoAtMs: 2 },
    });
  });
});
