// `npm run bundle`: a self-contained Outpost bundle for one CPU architecture, to be laid out on a node by
// deploy/install.sh (which ships inside it). No repository, compiler or dev dependency is needed on the node.
//
//   node tools/scripts/bundle.mjs [--out DIR] [--arch x64|arm64] [--no-build] [--tar]
//
// Layout of DIR (default dist/bundle/outpost), installed as-is under the prefix (/opt/outpost):
//   node/bin/node                     Node 24 from the node-linux-<arch> npm package (the lock file's version)
//   apps/<app>/{package.json,dist/}   every app (agents and edge-node): built JavaScript, no .d.ts
//   node_modules/                     production dependencies only, from package-lock.json (`npm ci --omit=dev`)
//   node_modules/@outpost/<lib>/      the workspace libs the apps import: real directories (package.json +
//                                     dist/), so their `exports` resolve to dist/ as on any install
//   deploy/                           units, sysusers.d, tmpfiles.d, polkit rules, nats, config, install.sh
//   libexec/                          root-side helpers the units run (cluster installer)
//   tools/                            node-side tools the installer runs (nats-config.mjs, when present)
//   bundle.json                       what this is: version, commit, arch, Node version, lock file hash
//
// How the production tree is made, reproducibly from the lock file: the root package.json, package-lock.json
// and every workspace's package.json are copied into DIR and `npm ci --omit=dev --cpu=<arch> --os=linux
// --ignore-scripts` runs there (offline from npm's cache when it holds the packages). npm links workspaces
// (node_modules/@outpost/x -> ../../libs/x); those links are then replaced by real copies of the libs' built
// output, apps move to apps/, and what only the build needed (lock file, workspace sources) is removed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  globSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('../..', import.meta.url).pathname);

function usage(message) {
  if (message) console.error(`bundle: ${message}`);
  console.error('usage: node tools/scripts/bundle.mjs [--out DIR] [--arch x64|arm64] [--no-build] [--tar]');
  process.exit(2);
}

function parseArgs(argv) {
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const opts = { out: join(root, 'dist/bundle/outpost'), arch: hostArch, build: true, tar: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? usage(`${arg} needs a value`);
    if (arg === '--out') opts.out = resolve(value());
    else if (arg === '--arch') opts.arch = value();
    else if (arg === '--no-build') opts.build = false;
    else if (arg === '--tar') opts.tar = true;
    else usage(`unknown argument ${arg}`);
  }
  if (!['x64', 'arm64'].includes(opts.arch)) usage(`--arch must be x64 or arm64, not ${opts.arch}`);
  if (opts.out === root || root.startsWith(`${opts.out}/`))
    usage(`--out ${opts.out} would replace the repository`);
  return opts;
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** Workspace directories (relative), from the root package.json's `workspaces` globs. */
function workspaces() {
  const pkg = readJson(join(root, 'package.json'));
  return pkg.workspaces
    .flatMap((pattern) => globSync(`${pattern}/package.json`, { cwd: root }))
    .map((file) => dirname(file))
    .sort();
}

/** The @outpost/* packages that files under `dir` import (static and dynamic imports). */
/** Node-side tools the bundle carries in tools/ (run by deploy/install.sh). */
const SHIPPED_TOOLS = ['nats-config.mjs'];

function importedWorkspacePackages(dir) {
  const names = new Set();
  const files = statSync(dir).isFile() ? [dir] : globSync('**/*.js', { cwd: dir }).map((f) => join(dir, f));
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](@outpost\/[a-z0-9-]+)(?:\/[^'"]*)?['"]/g)) {
      names.add(m[1]);
    }
  }
  return names;
}

/** Built output without what only the compiler and editors need. */
function copyBuilt(fromDir, toDir) {
  mkdirSync(toDir, { recursive: true });
  cpSync(join(fromDir, 'package.json'), join(toDir, 'package.json'));
  if (!existsSync(join(fromDir, 'dist')))
    throw new Error(`${fromDir}/dist is missing: the build did not run`);
  cpSync(join(fromDir, 'dist'), join(toDir, 'dist'), {
    recursive: true,
    filter: (src) => !/\.d\.ts(\.map)?$|\.tsbuildinfo$|\.spec\.js(\.map)?$/.test(src),
  });
}

function gitCommit() {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  return `${r.stdout.trim()}${dirty ? '-dirty' : ''}`;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  if (opts.build) {
    console.error('bundle: building (tsc -b tsconfig.build.json) ...');
    run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'], {
      cwd: root,
    });
  }

  const out = opts.out;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  // 1. Production dependencies from the lock file, for the target architecture.
  const spaces = workspaces();
  cpSync(join(root, 'package.json'), join(out, 'package.json'));
  cpSync(join(root, 'package-lock.json'), join(out, 'package-lock.json'));
  for (const ws of spaces) {
    mkdirSync(join(out, ws), { recursive: true });
    cpSync(join(root, ws, 'package.json'), join(out, ws, 'package.json'));
  }
  // npm must not see `npm run bundle`'s own settings (npm_config_local_prefix would point it at the repo).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  console.error(`bundle: npm ci --omit=dev for linux-${opts.arch} ...`);
  run(
    'npm',
    [
      'ci',
      '--omit=dev',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--os=linux',
      `--cpu=${opts.arch}`,
    ],
    { cwd: out, env },
  );

  // 2. Apps, and the workspace libs they import (transitively) as real directories in node_modules.
  const byName = new Map(spaces.map((ws) => [readJson(join(root, ws, 'package.json')).name, ws]));
  const apps = spaces.filter((ws) => ws.startsWith('apps/'));
  for (const name of byName.keys()) rmSync(join(out, 'node_modules', name), { recursive: true, force: true });
  rmSync(join(out, 'apps'), { recursive: true, force: true });
  rmSync(join(out, 'libs'), { recursive: true, force: true });
  const libs = new Set();
  // The node-side tools shipped in tools/ (step 4) import workspace libs too (nats-config.mjs).
  const tools = SHIPPED_TOOLS.map((t) => join(root, 'tools/scripts', t)).filter((f) => existsSync(f));
  const queue = [...apps.map((ws) => join(root, ws, 'dist')), ...tools];
  for (const ws of apps) copyBuilt(join(root, ws), join(out, ws));
  while (queue.length > 0) {
    for (const name of importedWorkspacePackages(queue.shift())) {
      const ws = byName.get(name);
      if (!ws) throw new Error(`an app imports ${name}, which is not a workspace package`);
      if (ws.startsWith('apps/') || libs.has(name)) continue;
      libs.add(name);
      copyBuilt(join(root, ws), join(out, 'node_modules', name));
      queue.push(join(root, ws, 'dist'));
    }
  }

  // 3. Node itself: only the binary; the npm package (headers, docs) goes.
  const nodePkg = join(out, 'node_modules', `node-linux-${opts.arch}`);
  const nodeVersion = readJson(join(nodePkg, 'package.json')).version;
  mkdirSync(join(out, 'node/bin'), { recursive: true });
  cpSync(join(nodePkg, 'bin/node'), join(out, 'node/bin/node'));
  if (existsSync(join(nodePkg, 'LICENSE'))) cpSync(join(nodePkg, 'LICENSE'), join(out, 'node/LICENSE'));
  for (const dir of readdirSync(join(out, 'node_modules')).filter((d) => d.startsWith('node-linux-'))) {
    rmSync(join(out, 'node_modules', dir), { recursive: true, force: true });
  }
  // Links to removed packages, and npm's record of a tree that no longer matches.
  rmSync(join(out, 'node_modules/.bin'), { recursive: true, force: true });
  rmSync(join(out, 'node_modules/.package-lock.json'), { force: true });

  // 4. Deployment files, root-side helpers, node-side tools, docs.
  cpSync(join(root, 'deploy'), join(out, 'deploy'), { recursive: true });
  mkdirSync(join(out, 'libexec'), { recursive: true });
  cpSync(join(root, 'deploy/libexec'), join(out, 'libexec'), { recursive: true });
  mkdirSync(join(out, 'tools'), { recursive: true });
  for (const tool of SHIPPED_TOOLS) {
    // Optional: the NATS credentials tool (see deploy/install.sh for what happens without it).
    if (existsSync(join(root, 'tools/scripts', tool)))
      cpSync(join(root, 'tools/scripts', tool), join(out, 'tools', tool));
  }
  // bin/: the operator CLI, run by the bundle's own Node wherever the bundle is installed.
  mkdirSync(join(out, 'bin'), { recursive: true });
  writeFileSync(
    join(out, 'bin/outpostctl'),
    '#!/bin/sh\n# outpostctl from this Outpost bundle (docs/outpostctl.md).\n' +
      'here=$(dirname "$(readlink -f "$0")")\n' +
      'exec "$here/../node/bin/node" "$here/../apps/outpostctl/dist/main.js" "$@"\n',
    { mode: 0o755 },
  );
  mkdirSync(join(out, 'docs'), { recursive: true });
  cpSync(join(root, 'docs/deploy.md'), join(out, 'docs/deploy.md'));

  // 5. What this is.
  const rootPkg = readJson(join(root, 'package.json'));
  const lockHash = createHash('sha256')
    .update(readFileSync(join(root, 'package-lock.json')))
    .digest('hex');
  const agents = apps
    .map((ws) => basename(ws))
    .filter((app) => app.endsWith('-agent'))
    .map((app) => app.slice(0, -'-agent'.length));
  const manifest = {
    name: 'outpost',
    version: rootPkg.version,
    commit: gitCommit(),
    arch: opts.arch,
    node: nodeVersion,
    lockfileSha256: lockHash,
    apps: apps.map((ws) => basename(ws)),
    agents,
    libs: [...libs].sort(),
  };
  rmSync(join(out, 'package-lock.json'));
  writeFileSync(
    join(out, 'package.json'),
    `${JSON.stringify({ name: 'outpost-bundle', version: rootPkg.version, private: true, type: 'module' }, null, 2)}\n`,
  );
  writeFileSync(join(out, 'bundle.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  if (opts.tar) {
    const tarball = join(dirname(out), `outpost-${rootPkg.version}-linux-${opts.arch}.tar.gz`);
    run('tar', ['-C', dirname(out), '--owner=0', '--group=0', '-czf', tarball, basename(out)]);
    console.error(`bundle: ${relative(process.cwd(), tarball)}`);
  }
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  console.error(
    `bundle: ${relative(process.cwd(), out) || '.'} (linux-${opts.arch}, Node ${nodeVersion}) in ${seconds} s`,
  );
}

try {
  main();
} catch (err) {
  console.error(`bundle: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
