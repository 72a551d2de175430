/**
 * Runs one configured executable without a shell: fixed argv, a clean environment that carries the
 * typed parameters, a timeout, and the tail of its output for error reasons. This is execFile's
 * contract, built on spawn because execFile does not pass `detached` through: the child must lead its
 * own process group so that a timeout or a stop also ends what it started (an install script's curl
 * or sleep would otherwise keep the pipes open and the agent waiting).
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

export interface RunResult {
  readonly ok: boolean;
  readonly aborted: boolean;
  /** "exit 3", "killed by SIGKILL", "timed out after 1000 ms", "cannot start ...: ENOENT"... */
  readonly outcome: string;
  /** The last lines of stdout and stderr, interleaved as they came. */
  readonly tail: string;
}

/** A PATH that finds the usual tools but nothing from the agent's own environment. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const TAIL_CHARS = 600;
/** Output kept while running: enough for the tail, bounded whatever the child prints. */
const KEEP_CHARS = 8 * 1024;
const KILL_GRACE_MS = 2_000;
const PIPE_GRACE_MS = 1_000;

export function runExecutable(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const child = spawn(file, [...args], {
      env: { PATH: SAFE_PATH, LANG: 'C.UTF-8', ...opts.env },
      cwd: '/',
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-KEEP_CHARS);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const stop = () => {
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    timer.unref();
    const onAbort = () => {
      aborted = true;
      stop();
    };
    let settled = false;
    const finish = (outcome: string, ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      opts.signal.removeEventListener('abort', onAbort);
      if (!ok) killGroup(child.pid, 'SIGKILL'); // leftovers of a failed or cancelled run
      resolve({ ok, aborted, outcome, tail: tailOf(output) });
    };
    child.on('error', (err: NodeJS.ErrnoException) =>
      finish(`cannot start ${file}: ${err.code ?? err.message}`, false),
    );
    // 'close' also waits for the pipes, so the tail is complete; but a process the child left running
    // may hold them open, so after the exit the pipes get a moment, not forever.
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const conclude = () => {
      if (!exit) return;
      if (timedOut) finish(`timed out after ${opts.timeoutMs} ms`, false);
      else if (aborted) finish('cancelled: the agent is stopping', false);
      else if (exit.code === 0) finish('exit 0', true);
      else finish(exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`, false);
    };
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      setTimeout(conclude, PIPE_GRACE_MS).unref();
    });
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      conclude();
    });
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** The end of the output, on whole lines where possible, without trailing blank space. */
export function tailOf(text: string): string {
  const trimmed = text.trimEnd();
  if (trimmed.length <= TAIL_CHARS) return trimmed;
  const cut = trimmed.slice(-TAIL_CHARS);
  const nl = cut.indexOf('\n');
  return `…${nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : cut}`;
}
