// Packs every app into what ships: apps/<app>/dist/bundle/main.js, one ES module holding the app, the
// workspace libs and every production dependency it imports, built by esbuild from tsc's output in
// apps/<app>/dist (tsc has already emitted the decorator metadata Nest needs). `npm run build` runs it after
// `tsc -b`; the install bundle (bundle.mjs), `npm start`, the bench and the tests that start apps as
// processes run these files. Measured in docs/performance.md: one minified file starts faster and takes
// less memory than the same code as hundreds of ES modules resolved from node_modules.
//
//   node tools/scripts/pack-apps.mjs [app ...]      (default: every app under apps/)
//
// Beside each bundle: main.js.map (not loaded unless Node runs with --enable-source-maps) and
// main.js.LEGAL.txt (the license comments of the bundled packages).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

const root = resolve(new URL('../..', import.meta.url).pathname);

/**
 * Optional peers that Nest loads only when a feature asks for them (validation pipes, the HTTP and
 * WebSocket platforms, the other microservice transports). Outpost uses none of them, so they stay
 * out; if one were ever asked for, Nest would say which package is missing, as it does without them.
 */
export const NOT_BUNDLED = [
  'class-validator',
  'class-transformer',
  '@nestjs/websockets',
  '@nestjs/websockets/*',
  '@nestjs/platform-express',
  'amqp-connection-manager',
  'amqplib',
  'ioredis',
  'kafkajs',
  'mqtt',
  '@grpc/grpc-js',
  '@grpc/proto-loader',
];

// CommonJS dependencies inside an ES module bundle still call require() for Node's built-ins.
const REQUIRE_SHIM =
  "import { createRequire as __outpostCreateRequire } from 'node:module'; " +
  'const require = __outpostCreateRequire(import.meta.url);';

/**
 * Nest's two logger modules build an Intl.DateTimeFormat when they are imported, for the timestamps of
 * its console logger. Outpost logs through its own JSON logger, so that formatter is never used, but
 * building it pages in ICU's locale data: ~7 MiB resident in every process (docs/performance.md). Here
 * it is built on first use instead; nothing else changes. @nestjs/common is pinned: when a new version
 * moves the line, the build says so rather than silently shipping the cost again.
 */
const NEST_FORMATTER = 'const dateTimeFormatter = new Intl.DateTimeFormat(';
const lazyNestFormatter = {
  name: 'lazy-nest-date-time-formatter',
  setup(b) {
    b.onLoad(
      { filter: /@nestjs[\\/]common[\\/]services[\\/](console-)?logger\.service\.js$/ },
      async (args) => {
        const text = await readFile(args.path, 'utf8');
        const at = text.indexOf(NEST_FORMATTER);
        const end = text.indexOf('\n});', at);
        if (at < 0 || end < 0)
          throw new Error(`${args.path}: "${NEST_FORMATTER}" not found; update tools/scripts/pack-apps.mjs`);
        const lazy =
          'const dateTimeFormatter = ((make) => { let f; return { format: (d) => (f ??= make()).format(d) }; })' +
          `(() => new Intl.DateTimeFormat(${text.slice(at + NEST_FORMATTER.length, end)}\n}));`;
        return { contents: text.slice(0, at) + lazy + text.slice(end + '\n});'.length), loader: 'js' };
      },
    );
  },
};

/** esbuild's options for what ships; outputs are named by the caller. */
function options(version) {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    // Nest names modules, providers and log contexts after their classes.
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'linked',
    banner: { js: REQUIRE_SHIM },
    external: NOT_BUNDLED,
    define: version ? { OUTPOST_BUNDLED_VERSION: JSON.stringify(version) } : {},
    plugins: [lazyNestFormatter],
    logLevel: 'warning',
  };
}

const runtimeVersion = () =>
  JSON.parse(readFileSync(join(root, 'libs/agent-runtime/package.json'), 'utf8')).version;

/** Bundles one ES module entry (and everything it imports) into outfile. */
export async function packFile(entry, outfile) {
  await build({ ...options(runtimeVersion()), entryPoints: [entry], outfile });
  return outfile;
}

/** apps/<app>/dist/bundle/main.js for each app (all of them by default), in one esbuild run. */
export async function packApps(apps = listApps()) {
  const entryPoints = apps.map((app) => {
    const entry = join(root, 'apps', app, 'dist/main.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run tsc -b tsconfig.build.json first`);
    return { in: entry, out: `apps/${app}/dist/bundle/main` };
  });
  await build({ ...options(runtimeVersion()), entryPoints, outdir: root });
  return apps.map((app) => join(root, 'apps', app, 'dist/bundle/main.js'));
}

export function listApps() {
  const dir = join(root, 'apps');
  return readdirSync(dir)
    .filter((a) => statSync(join(dir, a)).isDirectory() && existsSync(join(dir, a, 'package.json')))
    .sort();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t0 = performance.now();
  const apps = process.argv.slice(2);
  const outs = await packApps(apps.length > 0 ? apps : undefined);
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  console.error(`pack-apps: ${outs.map((o) => relative(root, o)).join(', ')} in ${seconds} s`);
}
