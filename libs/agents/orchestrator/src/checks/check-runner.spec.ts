/** The check runner against real processes: pass, fail with its exit code, a timeout killed. */
import { describe, expect, it } from '@jest/globals';
import { runCheck } from './check-runner.js';

const spec = (command: string[], timeoutSeconds = 5) => ({
  name: 'c',
  command,
  required: true,
  timeoutSeconds,
  offNode: false,
});

describe('runCheck', () => {
  it.each([
    ['exit 0 passes', ['/bin/sh', '-c', 'exit 0'], 5, 'pass', undefined],
    [
      'exit 3 fails with the code and the last stderr line',
      ['/bin/sh', '-c', 'echo broken >&2; exit 3'],
      5,
      'fail',
      /exit 3: broken/,
    ],
    ['a missing binary fails', ['/nonexistent/check'], 5, 'fail', /ENOENT/],
    ['a hung check times out', ['/bin/sh', '-c', 'trap "" TERM; sleep 30'], 1, 'timeout', undefined],
  ])('%s', async (_n, command, timeout, outcome, detail) => {
    const r = await runCheck(spec(command, timeout));
    expect(r.outcome).toBe(outcome);
    if (detail) expect(r.detail).toMatch(detail);
  });
});
