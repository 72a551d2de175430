// The system tools `npm start` and `npm test` use for real (no mocks), in one table: the command, the
// Debian package that brings it, and which of the two needs it. Run before either: a missing tool is
// installed from Debian when we are root with apt-get; otherwise one message names every missing tool
// and the exact command that installs them all.
//
//   node tools/scripts/ensure-system-tools.mjs start|test|boot [--dry-run]
//
// --dry-run never installs: it only checks and reports. A tool counts as present when it is on PATH or
// in an sbin directory (a non-root PATH often lacks /usr/sbin, where Debian puts sfdisk and nats-server;
// the code that runs those resolves them the same way: libs/device, and libs/testing through findNatsServer).
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';

/** Every system tool, once: command, Debian package, the npm commands that need it, why. */
const TABLE = [
  ['nats-server', 'nats-server', 'start test', 'the NATS server with JetStream'],
  ['sfdisk', 'fdisk', 'start test', "the simulated device's GPT disk image"],
  ['xz', 'xz-utils', 'test', 'xz-compressed update images'],
  ['systemd-analyze', 'systemd', 'test', 'verifies and scores the units in deploy/'],
  ['systemd-notify', 'systemd', 'test', 'sd_notify from the agents'],
  ['bootctl', 'systemd-boot', 'test', "reads the simulator's ESP as systemd-boot does"],
  ['promtool', 'prometheus', 'test', 'checks the Prometheus scrape output'],
  ['openssl', 'openssl', 'test', 'test TLS certificates (fleet, nats-config)'],
  ['jq', 'jq', 'test', 'the docs/nats-cli.md samples pipe into it'],
  ['python3', 'python3', 'test', "a datagram listener standing in for systemd's notify socket"],
  ['lscpu', 'util-linux', 'test', 'the hardware scan is checked against it'],
  ['lsblk', 'util-linux', 'test', 'the hardware scan is checked against it'],
  ['ip', 'iproute2', 'test', 'the hardware scan is checked against `ip -j addr`'],
  ['mount', 'mount', 'test', 'a tmpfs for the ESP that bootctl reads'],
  ['tar', 'tar', 'test boot', 'the install bundle (test/deploy)'],
  // `npm run image` and `npm run test:boot`: a Debian disk image booted by QEMU with OVMF.
  ['debootstrap', 'debootstrap', 'boot', 'the Debian 12 root file system of the disk image'],
  ['mkfs.ext4', 'e2fsprogs', 'boot', 'the slot and data file systems (mkfs.ext4 -d, no mounts)'],
  ['mkfs.vfat', 'dosfstools', 'boot', 'the ESP'],
  ['mcopy', 'mtools', 'boot', 'writes the ESP without a vfat driver in the host kernel'],
  ['objcopy', 'binutils', 'boot', 'joins stub, kernel and initramfs into a UKI'],
  ['qemu-system-x86_64', 'qemu-system-x86', 'boot', 'boots the image (software emulation)'],
  ['/usr/share/OVMF/OVMF_CODE_4M.fd', 'ovmf', 'boot', 'UEFI firmware for QEMU (a file, not a command)'],
];

export const SYSTEM_TOOLS = TABLE.map(([command, pkg, parts, why]) => ({
  command,
  pkg,
  for: parts.split(' '),
  why,
}));

/**
 * Where a tool may live besides PATH: the sbin directories a non-root PATH leaves out. Tools found only
 * there (sfdisk, nats-server) are run by absolute path (libs/device, libs/testing); every other tool is
 * run by name, so it must be on PATH.
 */
export const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of `command` (PATH first, then EXTRA_DIRS), or undefined. */
export function findTool(command, path = process.env.PATH ?? '') {
  const dirs = [...path.split(delimiter).filter((d) => d.startsWith('/')), ...EXTRA_DIRS];
  return dirs.map((dir) => join(dir, command)).find(executable);
}

/** The tools `part` ('start' or 'test') needs that are not found. */
export function missingTools(part, path = process.env.PATH ?? '') {
  const present = (t) => (t.command.startsWith('/') ? existsSync(t.command) : findTool(t.command, path));
  return SYSTEM_TOOLS.filter((t) => t.for.includes(part) && !present(t));
}

/** Debian packages of `tools`, each once, in table order. */
export function packagesOf(tools) {
  return [...new Set(tools.map((t) => t.pkg))];
}

export function installCommand(tools) {
  return `sudo apt-get install -y --no-install-recommends ${packagesOf(tools).join(' ')}`;
}

/** The one message for what is still missing: every tool, its package, why, and the command. */
export function missingMessage(part, tools) {
  const width = Math.max(...tools.map((t) => t.command.length));
  return [
    `\`npm ${part}\` needs ${tools.length === 1 ? 'a system tool that is' : 'system tools that are'} not installed:`,
    ...tools.map((t) => `  ${t.command.padEnd(width)}  (Debian package ${t.pkg}): ${t.why}`),
    'Install with:',
    `  ${installCommand(tools)}`,
  ].join('\n');
}

function aptInstall(packages) {
  const run = (args) =>
    spawnSync('apt-get', args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0;
  const install = ['install', '-y', '-qq', '--no-install-recommends', ...packages];
  // The package lists may be missing or stale on a fresh machine: update once, then try again.
  return run(install) || (run(['update', '-qq']) && run(install));
}

const canInstall = () => process.getuid?.() === 0 && findTool('apt-get') !== undefined;

/**
 * Makes sure every tool `part` needs is there: installs the missing ones from Debian when root (and not
 * a dry run), then throws with the one message if any is still missing. Returns what it installed.
 */
export function ensureSystemTools(part, { dryRun = false, log = console.error } = {}) {
  const missing = missingTools(part);
  if (missing.length === 0) return [];
  if (!dryRun && canInstall()) {
    log(
      `outpost: installing ${packagesOf(missing).join(' ')} (Debian) for ${missing.map((t) => t.command).join(', ')} ...`,
    );
    aptInstall(packagesOf(missing));
    const still = missingTools(part);
    if (still.length === 0) return missing;
    throw new Error(`apt-get did not bring every tool.\n${missingMessage(part, still)}`);
  }
  throw new Error(missingMessage(part, missing));
}

/**
 * nats-server: NATS_SERVER_BIN if set (an error when it is not an executable file: a binary asked for by
 * name is never silently replaced by another), else PATH or an sbin directory. The one lookup of the
 * repository: `npm start` and the test servers of @outpost/testing both use it.
 */
export function findNatsServer() {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`NATS_SERVER_BIN=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  return findTool('nats-server');
}

/** Like findNatsServer(), but installs nats-server when root, else throws with how to get one. */
export function ensureNatsServer() {
  const found = findNatsServer();
  if (found) return found;
  try {
    ensureSystemTools('start');
  } catch (err) {
    if (missingTools('start').some((t) => t.command === 'nats-server'))
      throw new Error(
        `${err.message}\n` +
          'or put a nats-server binary (2.9+) on PATH, or set NATS_SERVER_BIN=/path/to/nats-server,\n' +
          'or point Outpost at a running server with NATS_URL=nats://host:4222',
      );
  }
  const bin = findNatsServer();
  if (!bin) throw new Error('nats-server is still missing after installing it');
  return bin;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const part = args.find((a) => !a.startsWith('--'));
  if (part !== 'start' && part !== 'test' && part !== 'boot') {
    console.error('usage: ensure-system-tools.mjs start|test|boot [--dry-run]');
    process.exit(2);
  }
  try {
    ensureSystemTools(part, { dryRun: args.includes('--dry-run') });
  } catch (err) {
    console.error(`outpost: ${err.message}`);
    process.exit(1);
  }
}
