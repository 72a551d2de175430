/**
 * tools/scripts/ensure-system-tools.mjs as `npm test` and `npm start` run it, on this machine's real
 * tools: a PATH made of links to every tool but some stands in for a machine that lacks those, and
 * --dry-run keeps it from installing them (as a non-root user would be kept).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXTRA_DIRS, findTool, SYSTEM_TOOLS } from './ensure-system-tools.mjs';

const SCRIPT = resolve(new URL('.', import.meta.url).pathname, 'ensure-system-tools.mjs');

/** Runs the script with PATH = a directory holding links to every tool except `without`. */
function runWithout(without: string[], ...args: string[]) {
  const bin = mkdtempSync(join(tmpdir(), 'outpost-tools-'));
  dirs.push(bin);
  for (const tool of SYSTEM_TOOLS) {
    const found = findTool(tool.command);
    if (!without.includes(tool.command) && found && !EXTRA_DIRS.some((d) => found.startsWith(`${d}/`)))
      symlinkSync(found, join(bin, tool.command));
  }
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { env: { PATH: bin }, encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}
const dirs: string[] = [];

describe('ensure-system-tools', () => {
  beforeAll(() => {
    // The script's own checks must pass here first, or the cases below prove nothing.
    expect(spawnSync(process.execPath, [SCRIPT, 'test', '--dry-run'], { encoding: 'utf8' })).toMatchObject({
      status: 0,
      stderr: '',
    });
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('names every missing tool in one message, with the exact install command, and fails', () => {
    const r = runWithout(['bootctl', 'promtool', 'jq'], 'test', '--dry-run');
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe('outpost: `npm test` needs system tools that are not installed:');
    expect(lines.slice(1, 4).map((l) => l.trim().split(/\s+/)[0])).toEqual(['bootctl', 'promtool', 'jq']);
    expect(lines[1]).toContain('(Debian package systemd-boot)');
    expect(lines[2]).toContain('(Debian package prometheus)');
    expect(lines.slice(4)).toEqual([
      'Install with:',
      '  sudo apt-get install -y --no-install-recommends systemd-boot prometheus jq',
    ]);
  });

  it('names a package once when two of its tools are missing', () => {
    const r = runWithout(['lscpu', 'lsblk'], 'test', '--dry-run');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ {2}lscpu .*\n {2}lsblk /m);
    expect(r.stderr).toContain('\n  sudo apt-get install -y --no-install-recommends util-linux\n');
  });

  it('`npm start` needs fewer: tools only the tests use are not asked for', () => {
    expect(runWithout(['bootctl', 'promtool', 'jq', 'xz'], 'start', '--dry-run')).toEqual({
      code: 0,
      stderr: '',
    });
  });

  it('finds sfdisk and nats-server in the sbin directories a non-root PATH leaves out', () => {
    // The PATH of runWithout holds no sbin directory and no link into one.
    expect(findTool('sfdisk', '')).toMatch(/^\/(usr\/)?(local\/)?sbin\/sfdisk$/);
    expect(runWithout([], 'start', '--dry-run')).toEqual({ code: 0, stderr: '' });
    expect(runWithout([], 'test', '--dry-run')).toEqual({ code: 0, stderr: '' });
  });

  it('refuses an unknown part with a usage line', () => {
    const r = spawnSync(process.execPath, [SCRIPT, 'deploy'], { encoding: 'utf8' });
    expect({ code: r.status, stderr: r.stderr.trim() }).toEqual({
      code: 2,
      stderr: 'usage: ensure-system-tools.mjs start|test|boot [--dry-run]',
    });
  });
});
