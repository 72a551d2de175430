// Makes sure a nats-server binary exists for `npm start` and the tests: on PATH, in /usr/sbin, or
// installed now from Debian's package when we are root with apt-get. Otherwise says exactly how.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function findNatsServer() {
  if (process.env.NATS_SERVER_BIN && existsSync(process.env.NATS_SERVER_BIN))
    return process.env.NATS_SERVER_BIN;
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  for (const candidate of ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server']) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function aptInstall() {
  const run = (args) =>
    spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  if (run(['install', '-y', '--no-install-recommends', 'nats-server']).status === 0) return true;
  return (
    run(['update']).status === 0 &&
    run(['install', '-y', '--no-install-recommends', 'nats-server']).status === 0
  );
}

export function ensureNatsServer() {
  let bin = findNatsServer();
  if (bin) return bin;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (isRoot && hasApt) {
    console.error('outpost: nats-server is missing; installing the Debian package nats-server ...');
    if (aptInstall()) bin = findNatsServer();
  }
  if (!bin) {
    throw new Error(
      'nats-server is not installed. Install it with one of:\n' +
        '  sudo apt-get install nats-server            (Debian/Ubuntu)\n' +
        '  or put a nats-server binary (2.9+) on PATH, or set NATS_SERVER_BIN=/path/to/nats-server\n' +
        '  or point Outpost at a running server with NATS_URL=nats://host:4222',
    );
  }
  return bin;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const bin = ensureNatsServer();
    console.log(`nats-server: ${bin} (${execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()})`);
  } catch (err) {
    console.error(`outpost: ${err.message}`);
    process.exit(1);
  }
}
