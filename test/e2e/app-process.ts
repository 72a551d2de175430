/**
 * Runs an app as it ships (apps/<name>/dist/bundle/main.js, packed by `npm run build`) as a real child
 * process on Node 24, the way systemd would: the units' Node flags and environment, its own
 * environment, JSON logs on stdout, SIGTERM to stop. `npm test` builds before Jest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { NODE_ENV, NODE_FLAGS, shippedMain } from '../../tools/scripts/shipped.mjs';

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
  const main = shippedMain(ROOT, app);
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, [...NODE_FLAGS, main], {
    env: { PATH: process.env.PATH, ...NODE_ENV, ...env },
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
