// Keeps package-lock.json valid for `npm ci` when the registry mirror lacks other platforms' binaries.
// Packages such as @bufbuild/buf, @swc/core and Nx's resolver ship one optional package per platform;
// where the mirror answers 404 for (say) the darwin builds, `npm install` leaves them out of the lock and
// `npm ci` then refuses the lock ("Missing: ... from lock file"). This records each missing optional
// platform package with its version and the os/cpu/libc its name declares, so every machine skips it
// without fetching. Run `npm run lock` after changing dependencies; `--check` (part of lint) fails
// when an entry is missing.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const check = process.argv.includes('--check');

const OS = [
  'darwin',
  'win32',
  'linux',
  'freebsd',
  'android',
  'openharmony',
  'sunos',
  'aix',
  'netbsd',
  'openbsd',
];
const CPU = {
  x64: 'x64',
  arm64: 'arm64',
  aarch64: 'arm64',
  arm: 'arm',
  armv7: 'arm',
  ia32: 'ia32',
  ppc64: 'ppc64',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
};

function platformOf(name) {
  const tokens = name.split('/').pop().split('-');
  const os = tokens.find((t) => OS.includes(t));
  const cpu = tokens.map((t) => CPU[t]).find(Boolean);
  const libc =
    tokens.includes('musl') || tokens.some((t) => t.startsWith('musl'))
      ? 'musl'
      : tokens.some((t) => t.startsWith('gnu'))
        ? 'glibc'
        : undefined;
  return os && cpu ? { os, cpu, libc } : undefined;
}

const missing = [];
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [dep, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const where = key === '' ? `node_modules/${dep}` : `${key}/node_modules/${dep}`;
    if (lock.packages[where] || lock.packages[`node_modules/${dep}`]) continue;
    const platform = platformOf(dep);
    if (!platform) continue; // not a platform build: leave it to npm
    missing.push(dep);
    lock.packages[`node_modules/${dep}`] = {
      version: String(spec).replace(/^[\^~=]/, ''),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      os: [platform.os],
      cpu: [platform.cpu],
      ...(platform.libc ? { libc: [platform.libc] } : {}),
    };
  }
}

if (check) {
  if (missing.length) {
    console.error(
      `package-lock.json lacks ${missing.length} platform packages (${missing.slice(0, 3).join(', ')}, ...): run \`npm run lock\``,
    );
    process.exit(1);
  }
} else {
  lock.packages = Object.fromEntries(
    Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
  );
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`package-lock.json: ${missing.length} platform package(s) recorded`);
}
