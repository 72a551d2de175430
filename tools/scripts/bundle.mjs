// `npm run bundle`: a self-contained Outpost bundle for one CPU architecture, to be laid out on a node by
// deploy/install.sh (which ships inside it). No repository, compiler or dev dependency is needed on the node.
//
//   node tools/scripts/bundle.mjs [--out DIR] [--arch x64|arm64] [--no-build] [--tar]
//
// Layout of DIR (default dist/bundle/outpost), installed as-is under the prefix (/opt/outpost):
//   node/bin/node                     Node 24 from the node-linux-<arch> npm package (the lock file's version)
//   apps/<app>/package.json           every app (agents, edge-node, outpostctl) ...
//   apps/<app>/dist/main.js           ... as one ES module with the workspace libs and every production
//                                     dependency in it (tools/scripts/pack-apps.mjs), main.js.map beside it
//                                     (used only with --enable-source-maps) and main.js.LEGAL.txt
//   deploy/                           units, sysusers.d, tmpfiles.d, polkit rules, nats, config, install.sh
//   libexec/                          root-side helpers the units run (cluster installer)
//   tools/                            node-side tools the installer runs (nats-config.mjs, packed the same way)
//   bin/outpostctl                    the operator CLI on the bundle's own Node
//   bundle.json                       what this is: version, commit, arch, Node version, lock file hash
// There is no node_modules/: the JavaScript is the same for every architecture (no native addons), and
// only Node itself is per architecture, taken from the lock file's node-linux-<arch> package.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { listApps, packApps, packFile } from './pack-apps.mjs';

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

/** Node-side tools the bundle carries in tools/ (run by deploy/install.sh), packed like the apps. */
const SHIPPED_TOOLS = ['nats-config.mjs'];

/** Node for the target architecture: the lock file's node-linux-<arch> package, from npm's cache if there. */
function nodeBinary(arch, out) {
  const lock = readJson(join(root, 'package-lock.json'));
  const name = `node-linux-${arch}`;
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`package-lock.json has no ${name}: run npm run lock`);
  let pkg = join(root, 'node_modules', name);
  let scratch;
  if (!existsSync(join(pkg, 'bin/node')) || readJson(join(pkg, 'package.json')).version !== version) {
    // Another architecture than this machine's: fetch its package (npm pack, offline when cached).
    scratch = mkdtempSync(join(tmpdir(), 'outpost-node-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    run(
      'npm',
      ['pack', `${name}@${version}`, '--prefer-offline', '--silent', '--pack-destination', scratch],
      {
        cwd: scratch,
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    run('tar', ['-xzf', join(scratch, `${name}-${version}.tgz`), '-C', scratch]);
    pkg = join(scratch, 'package');
  }
  mkdirSync(join(out, 'node/bin'), { recursive: true });
  cpSync(join(pkg, 'bin/node'), join(out, 'node/bin/node'));
  if (existsSync(join(pkg, 'LICENSE'))) cpSync(join(pkg, 'LICENSE'), join(out, 'node/LICENSE'));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  return version;
}

function gitCommit() {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  return `${r.stdout.trim()}${dirty ? '-dirty' : ''}`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  if (opts.build) {
    console.error('bundle: building (tsc -b tsconfig.build.json, pack-apps) ...');
    run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'], {
      cwd: root,
    });
    await packApps();
  }

  const out = opts.out;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  // 1. Every app as its packed module (apps/<app>/dist/bundle/ in the repository).
  const apps = listApps();
  for (const app of apps) {
    const packed = join(root, 'apps', app, 'dist/bundle');
    if (!existsSync(join(packed, 'main.js')))
      throw new Error(`${packed}/main.js is missing: the build did not run`);
    mkdirSync(join(out, 'apps', app), { recursive: true });
    cpSync(join(root, 'apps', app, 'package.json'), join(out, 'apps', app, 'package.json'));
    cpSync(packed, join(out, 'apps', app, 'dist'), { recursive: true });
  }

  // 2. Node itself, for the target architecture.
  const nodeVersion = nodeBinary(opts.arch, out);

  // 3. Deployment files, root-side helpers, node-side tools, docs.
  cpSync(join(root, 'deploy'), join(out, 'deploy'), { recursive: true });
  mkdirSync(join(out, 'libexec'), { recursive: true });
  cpSync(join(root, 'deploy/libexec'), join(out, 'libexec'), { recursive: true });
  mkdirSync(join(out, 'tools'), { recursive: true });
  const rootPkg = readJson(join(root, 'package.json'));
  for (const tool of SHIPPED_TOOLS) {
    // Optional: the NATS credentials tool (see deploy/install.sh for what happens without it).
    const source = join(root, 'tools/scripts', tool);
    if (existsSync(source)) await packFile(source, join(out, 'tools', tool));
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

  // 4. What this is.
  const lockHash = createHash('sha256')
    .update(readFileSync(join(root, 'package-lock.json')))
    .digest('hex');
  const agents = apps.filter((app) => app.endsWith('-agent')).map((app) => app.slice(0, -'-agent'.length));
  const manifest = {
    name: 'outpost',
    version: rootPkg.version,
    commit: gitCommit(),
    arch: opts.arch,
    node: nodeVersion,
    lockfileSha256: lockHash,
    apps,
    agents,
  };
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

main().catch((err) => {
  console.error(`bundle: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
