// Never leaking servers: a test server dies with the test process that started it, however that ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Socket } from 'node:net';

// Synchronous last-resort cleanups of handles that were not stopped, run on process 'exit'. Registered only
// while something is live so repeated use does not pile up listeners.
const exitCleanups = new Set<() => void>();
const runExitCleanups = () => {
  for (const cleanup of exitCleanups) cleanup();
};

/**
 * Makes sure a handle's nats-server dies with us. A process 'exit' hook covers a normal exit of plain Node,
 * but Jest gives test files a copy of `process` whose 'exit' never fires, and nothing runs on SIGKILL. So each
 * handle also has a tiny watchdog process holding a pipe from us: when we die the pipe closes, and the
 * watchdog SIGKILLs the current server and removes the store. It is told the live pid over that pipe.
 */
export class Reaper {
  private pid: number | undefined;
  private readonly watchdog: ChildProcess;
  private readonly cleanup = () => {
    if (this.pid !== undefined) killQuietly(this.pid);
    try {
      rmSync(this.storeDir, { recursive: true, force: true });
    } catch {
      // Best effort while exiting; the OS temp dir is cleaned eventually.
    }
  };

  constructor(private readonly storeDir: string) {
    this.watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, storeDir], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    this.watchdog.on('error', () => undefined); // without a watchdog we still have the exit hook
    this.watchdog.stdin?.on('error', () => undefined);
    this.watchdog.unref();
    if (this.watchdog.stdin instanceof Socket) this.watchdog.stdin.unref();
    if (exitCleanups.size === 0) process.on('exit', runExitCleanups);
    exitCleanups.add(this.cleanup);
  }

  track(pid: number | undefined): void {
    this.pid = pid;
    this.watchdog.stdin?.write(`pid ${pid ?? 0}\n`);
  }

  /** The handle was stopped properly: nothing left to reap. */
  release(): void {
    this.pid = undefined;
    this.watchdog.stdin?.end('done\n');
    exitCleanups.delete(this.cleanup);
    if (exitCleanups.size === 0) process.off('exit', runExitCleanups);
  }
}

// Runs as `node -e WATCHDOG_SOURCE storeDir`; reads "pid N" / "done" lines; EOF without "done" = parent died.
const WATCHDOG_SOURCE = `
const { rmSync } = require('node:fs');
const storeDir = process.argv[1];
let pid = 0, buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    if (line === 'done') process.exit(0);
    if (line.startsWith('pid ')) pid = Number(line.slice(4)) || 0;
  }
});
process.stdin.on('close', () => {
  if (pid > 0) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  try { rmSync(storeDir, { recursive: true, force: true, maxRetries: 5 }); } catch {}
  process.exit(0);
});
`;

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
