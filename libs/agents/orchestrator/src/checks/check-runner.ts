/**
 * Runs the health policy's check commands: argv only (no shell), each with its own timeout after
 * which it is killed (SIGKILL: a check that ignores SIGTERM must not stall the trial). Exit 0 passes.
 */
import { execFile } from 'node:child_process';
import type { CheckResult, CheckSpec } from '../domain/health-trial.js';

export function runCheck(check: CheckSpec): Promise<CheckResult> {
  return new Promise((resolve) => {
    const [file, ...args] = check.command;
    execFile(
      file,
      args,
      { timeout: check.timeoutSeconds * 1000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, env: {} },
      (err, _stdout, stderr) => {
        if (!err) return resolve({ name: check.name, outcome: 'pass' });
        const timedOut = err.killed === true && err.signal === 'SIGKILL';
        const tail = String(stderr).trim().split('\n').slice(-1)[0] ?? '';
        resolve({
          name: check.name,
          outcome: timedOut ? 'timeout' : 'fail',
          detail: timedOut
            ? undefined
            : `exit ${String(err.code ?? err.signal)}${tail ? `: ${tail.slice(0, 200)}` : ''}`,
        });
      },
    );
  });
}

export function runChecks(checks: readonly CheckSpec[]): Promise<CheckResult[]> {
  return Promise.all(checks.map(runCheck));
}
