// Small helpers shared by the image builder's stages: running commands, content hashes, the cache.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(new URL('../..', import.meta.url).pathname);

/** Where built artifacts are kept between runs: $OUTPOST_IMAGE_CACHE or <repo>/.cache/outpost-image. */
export function cacheDir() {
  const dir = resolve(process.env.OUTPOST_IMAGE_CACHE || join(repoRoot, '.cache/outpost-image'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function log(message) {
  process.stderr.write(`image: ${message}\n`);
}

/** Runs a command; throws with its stderr tail when it fails. `capture`: returns stdout. */
export function run(cmd, args, { capture = false, env, cwd, input, quiet = false } = {}) {
  const result = spawnSync(cmd, args, {
    cwd,
    input,
    env: env ? { ...process.env, ...env } : process.env,
    stdio: [input === undefined ? 'ignore' : 'pipe', capture || quiet ? 'pipe' : 'inherit', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
    ...(capture ? { encoding: 'utf8' } : {}),
  });
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`);
  if (result.status !== 0) {
    const err = String(result.stderr ?? '')
      .trim()
      .split('\n')
      .slice(-20)
      .join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal}\n${err}`);
  }
  if (!quiet && result.stderr?.length) process.stderr.write(result.stderr);
  return capture ? result.stdout : '';
}

export function sha256(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : JSON.stringify(p)).update('\0');
  return h.digest('hex');
}

export function fileSha256(path) {
  const h = createHash('sha256');
  const r = spawnSync('sha256sum', [path], { encoding: 'utf8' });
  if (r.status === 0) return r.stdout.split(' ')[0];
  h.update(readFileSync(path));
  return h.digest('hex');
}

/**
 * Makes `dir` by `make(tmpDir)` once: built under a temporary name and renamed into place, so an
 * interrupted build never leaves a directory that looks finished. Returns dir.
 */
export function cached(dir, make) {
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  make(tmp);
  renameSync(tmp, dir);
  return dir;
}

/** The Debian mirror of this machine's apt configuration (deb822 or one-line), for `suite`'s main. */
export function debianMirror(suite) {
  const files = [
    '/etc/apt/sources.list',
    ...listDir('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)),
  ];
  for (const file of files) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (uris && suites.includes(suite) && /\/debian\/?$/.test(uris)) return uris;
    }
    for (const line of text.split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s/.exec(line.trim());
      if (m && m[2] === suite && /\/debian\/?$/.test(m[1])) return m[1];
    }
  }
  throw new Error(`no Debian mirror for ${suite} in /etc/apt/sources.list*`);
}

function listDir(dir) {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.(list|sources)$/.test(f))
        .sort()
    : [];
}
