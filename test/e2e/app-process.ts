/**
 * Runs a built app (apps/<name>/dist/main.js) as a real child process on Node 24, the way systemd
 * would: its own environment, JSON logs on stdout, SIGTERM to stop. `npm test` builds before Jest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);

export interface AppProcess {
  child: ChildProcess;
  /** Everything the process wrote, stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (or 128+signal). */
  exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export function startApp(app: string, env: NodeJS.ProcessEnv): AppProcess {
  const main = join(ROOT, 'apps', app, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number>((done) =>
    child.once('exit', (code, signal) => done(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15))),
  );
  return { child, output: () => out, exited, kill: (signal = 'SIGTERM') => child.kill(signal) };
}
