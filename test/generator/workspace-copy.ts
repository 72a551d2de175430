/**
 * A throw-away copy of this workspace for tests that change it (the agent generator): the sources
 * without node_modules, build output, Nx cache or git, plus a node_modules whose entries link to the
 * original's, except the workspace packages (`@outpost/*`), which link into the copy as npm made them.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export const WORKSPACE = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/**
 * Top-level entries that are not sources (`.cache`: the boot test's image cache, GBs with device nodes);
 * `dist` and `*.tsbuildinfo` anywhere.
 */
const SKIP_TOP = new Set(['node_modules', '.git', '.nx', 'coverage', 'tmp', '.outpost', '.cache']);

export interface WorkspaceCopy {
  root: string;
  /** Runs a program of the copy's node_modules/.bin (Node 24 first on PATH), from the copy's root. */
  run(bin: string, args: string[]): Promise<{ code: number; output: string }>;
  remove(): Promise<void>;
}

export async function copyWorkspace(prefix = 'outpost-ws-'): Promise<WorkspaceCopy> {
  const parent = await mkdtemp(join(tmpdir(), prefix));
  const root = join(parent, 'workspace');
  await cp(WORKSPACE, root, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => {
      const rel = src.slice(WORKSPACE.length + 1);
      if (rel === '') return true;
      if (SKIP_TOP.has(rel)) return false;
      const name = basename(src);
      return name !== 'dist' && name !== 'node_modules' && !name.endsWith('.tsbuildinfo');
    },
  });
  await linkNodeModules(root);
  const bin = join(root, 'node_modules/.bin');
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    NX_DAEMON: 'false',
    FORCE_COLOR: '0',
  };
  return {
    root,
    run: (program, args) =>
      new Promise((resolve) => {
        execFile(
          join(bin, program),
          args,
          { cwd: root, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
            resolve({ code, output: `${stdout}${stderr}` });
          },
        );
      }),
    remove: () => rm(parent, { recursive: true, force: true }),
  };
}

async function linkNodeModules(root: string): Promise<void> {
  const from = join(WORKSPACE, 'node_modules');
  const to = join(root, 'node_modules');
  await mkdir(join(to, '@outpost'), { recursive: true });
  for (const entry of await readdir(from)) {
    if (entry === '@outpost' || entry === '.cache') continue;
    await symlink(join(from, entry), join(to, entry));
  }
  // Relative links (../../libs/...) now resolve inside the copy, as `npm install` would make them there.
  for (const pkg of await readdir(join(from, '@outpost')))
    await symlink(await readlink(join(from, '@outpost', pkg)), join(to, '@outpost', pkg));
}
