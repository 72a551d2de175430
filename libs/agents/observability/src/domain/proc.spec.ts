import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import {
  cpuUtilization,
  outpostUnitOf,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parsePidStat,
  parseProcStat,
} from './proc.js';

describe('/proc parsers', () => {
  it('reads /proc/stat in seconds, per core and in total, and the busy share between two readings', () => {
    const a = parseProcStat(
      'cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\ncpu1 50 0 50 400 0 0 0 0 0 0\nintr 1\n',
    );
    const b = parseProcStat(
      'cpu  200 0 200 1000 0 0 0 0 0 0\ncpu0 150 0 50 400 0 0 0 0 0 0\ncpu1 50 0 150 600 0 0 0 0 0 0\n',
    );
    expect(a.total.user).toBe(1);
    expect(a.cores.size).toBe(2);
    expect(cpuUtilization(a.total, b.total)).toBeCloseTo(0.5);
    const core = (stat: typeof a, n: number) => stat.cores.get(n) ?? a.total;
    expect(cpuUtilization(core(a, 0), core(b, 0))).toBe(1);
    expect(cpuUtilization(core(a, 1), core(b, 1))).toBeCloseTo(1 / 3);
    expect(cpuUtilization(a.total, a.total)).toBeUndefined();
  });

  it('reads the real /proc/stat, /proc/meminfo, /proc/loadavg and /proc/net/dev of this machine', async () => {
    const stat = parseProcStat(await readFile('/proc/stat', 'utf8'));
    expect(stat.cores.size).toBeGreaterThan(0);
    const mem = parseMeminfo(await readFile('/proc/meminfo', 'utf8'));
    expect(mem.total).toBeGreaterThan(mem.used);
    expect(parseLoadavg(await readFile('/proc/loadavg', 'utf8'))).toHaveLength(3);
    expect(parseNetDev(await readFile('/proc/net/dev', 'utf8')).map((n) => n.name)).toContain('lo');
    const self = parsePidStat(await readFile('/proc/self/stat', 'utf8'));
    expect(self.pid).toBe(process.pid);
    expect(self.threads).toBeGreaterThan(0);
  });

  it.each([
    [
      'used = total - free - buffers - cached - SReclaimable',
      'MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 200 kB\nSReclaimable: 100 kB\nMemAvailable: 500 kB\n',
      500 * 1024,
    ],
    ['never negative', 'MemTotal: 100 kB\nMemFree: 100 kB\nBuffers: 100 kB\n', 0],
  ])('meminfo: %s', (_what, text, used) => expect(parseMeminfo(text).used).toBe(used));

  it('reads a command with spaces and parentheses in /proc/<pid>/stat', () => {
    const s = parsePidStat(
      '42 (node (x) y) S 1 42 42 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 11 0 100 123456 789 18446744073709551615',
    );
    expect(s).toMatchObject({
      pid: 42,
      command: 'node (x) y',
      userTime: 2.5,
      systemTime: 0.5,
      threads: 11,
      virtualBytes: 123456,
      residentPages: 789,
    });
  });

  it('keeps whole disks in /proc/diskstats, in bytes', () => {
    const text =
      '   8       0 sda 10 0 8 0 20 0 16 0 0 1500 0 0 0 0 0\n   8       1 sda1 1 0 2 0 0 0 0 0 0 0 0 0 0 0 0\n';
    expect(parseDiskstats(text, (d) => d === 'sda')).toEqual([
      { device: 'sda', reads: 10, readBytes: 4096, writes: 20, writtenBytes: 8192, ioTime: 1.5 },
    ]);
  });

  it('keeps the data file systems of the mount table, unescaping mount points', () => {
    const text =
      'proc /proc proc rw 0 0\n/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk xfs rw 0 0\ntmpfs /run tmpfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n';
    expect(parseMounts(text).map((m) => m.mountpoint)).toEqual(['/', '/mnt/my disk']);
  });

  it.each([
    ['0::/system.slice/outpost-node-agent.service\n', 'outpost-node-agent'],
    ['1:name=systemd:/system.slice/outpost-edge-node.service/x\n', 'outpost-edge-node'],
    ['0::/user.slice/user-1000.slice/session-2.scope\n', undefined],
  ])('the Outpost unit of cgroup %j is %s', (cgroup, unit) => expect(outpostUnitOf(cgroup)).toBe(unit));
});
