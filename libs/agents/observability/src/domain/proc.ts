/**
 * Parsers of the kernel's text interfaces (/proc and /sys) the host inputs read, and the arithmetic
 * on their counters. Pure: text in, numbers out; the readers in sources/ do the I/O.
 */

/** Clock ticks per second of /proc/stat and /proc/<pid>/stat (USER_HZ, 100 on every Linux ABI). */
export const USER_HZ = 100;
const SECTOR_BYTES = 512;

export const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
export type CpuMode = (typeof CPU_MODES)[number];
export type CpuTimes = Record<CpuMode, number>;

export interface CpuStat {
  /** Seconds per mode, all cores together. */
  total: CpuTimes;
  /** Seconds per mode of each logical core, by its number. */
  cores: Map<number, CpuTimes>;
}

/** /proc/stat: the cpu and cpuN lines, in seconds. */
export function parseProcStat(text: string): CpuStat {
  let total: CpuTimes | undefined;
  const cores = new Map<number, CpuTimes>();
  for (const line of text.split('\n')) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    const values = m[2].trim().split(/\s+/).map(Number);
    const times = Object.fromEntries(
      CPU_MODES.map((mode, i) => [mode, (values[i] ?? 0) / USER_HZ]),
    ) as CpuTimes;
    if (m[1] === '') total = times;
    else cores.set(Number(m[1]), times);
  }
  if (!total) throw new Error('/proc/stat has no cpu line');
  return { total, cores };
}

/** Share of time not idle between two readings (0..1); undefined when no time passed. */
export function cpuUtilization(before: CpuTimes, after: CpuTimes): number | undefined {
  const sum = (t: CpuTimes) => CPU_MODES.reduce((acc, mode) => acc + t[mode], 0);
  const elapsed = sum(after) - sum(before);
  if (elapsed <= 0) return undefined;
  const idle = after.idle + after.iowait - (before.idle + before.iowait);
  return Math.min(1, Math.max(0, 1 - idle / elapsed));
}

export interface MemInfo {
  total: number;
  free: number;
  available: number;
  buffers: number;
  cached: number;
  /** total - free - buffers - cached (what `free` calls used). */
  used: number;
  swapTotal: number;
  swapFree: number;
}

/** /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): MemInfo {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?$/.exec(line.trim());
    if (m) kb.set(m[1], Number(m[2]) * 1024);
  }
  const get = (key: string) => kb.get(key) ?? 0;
  if (!kb.has('MemTotal')) throw new Error('/proc/meminfo has no MemTotal');
  const cached = get('Cached') + get('SReclaimable');
  const used = Math.max(0, get('MemTotal') - get('MemFree') - get('Buffers') - cached);
  return {
    total: get('MemTotal'),
    free: get('MemFree'),
    available: kb.get('MemAvailable') ?? get('MemFree'),
    buffers: get('Buffers'),
    cached,
    used,
    swapTotal: get('SwapTotal'),
    swapFree: get('SwapFree'),
  };
}

/** /proc/loadavg: the 1, 5 and 15 minute averages. */
export function parseLoadavg(text: string): [number, number, number] {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every(Number.isFinite)) throw new Error(`/proc/loadavg is not understood: ${text.trim()}`);
  return [a, b, c];
}

export interface NetInterface {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** /proc/net/dev: one entry per interface. */
export function parseNetDev(text: string): NetInterface[] {
  const out: NetInterface[] = [];
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    out.push({
      name: m[1],
      rxBytes: v[0],
      rxPackets: v[1],
      rxErrors: v[2],
      rxDropped: v[3],
      txBytes: v[8],
      txPackets: v[9],
      txErrors: v[10],
      txDropped: v[11],
    });
  }
  return out;
}

export interface DiskIo {
  device: string;
  reads: number;
  writes: number;
  readBytes: number;
  writtenBytes: number;
  /** Seconds spent doing I/O. */
  ioTime: number;
}

/** /proc/diskstats, restricted to the devices kept by `keep` (whole disks, not partitions). */
export function parseDiskstats(text: string, keep: (device: string) => boolean): DiskIo[] {
  const out: DiskIo[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14 || !keep(f[2])) continue;
    out.push({
      device: f[2],
      reads: Number(f[3]),
      readBytes: Number(f[5]) * SECTOR_BYTES,
      writes: Number(f[7]),
      writtenBytes: Number(f[9]) * SECTOR_BYTES,
      ioTime: Number(f[12]) / 1000,
    });
  }
  return out;
}

export interface Mount {
  device: string;
  mountpoint: string;
  type: string;
}

/** File systems that hold data on a device (not proc, sysfs, tmpfs, overlays of containers...). */
const DATA_FILESYSTEMS = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat', 'f2fs', 'zfs', 'exfat']);

/** /proc/mounts (or /proc/self/mounts): the data file systems, one entry per mount point. */
export function parseMounts(text: string): Mount[] {
  const seen = new Set<string>();
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const [device, rawMountpoint, type] = line.split(' ');
    if (!type || !DATA_FILESYSTEMS.has(type)) continue;
    // Spaces and tabs in mount points are written as octal escapes.
    const mountpoint = rawMountpoint.replace(/\\([0-7]{3})/g, (_m, o: string) =>
      String.fromCharCode(parseInt(o, 8)),
    );
    if (seen.has(mountpoint)) continue;
    seen.add(mountpoint);
    out.push({ device, mountpoint, type });
  }
  return out;
}

export interface ProcessStat {
  pid: number;
  command: string;
  /** Seconds in user and kernel mode. */
  userTime: number;
  systemTime: number;
  threads: number;
  /** Bytes of virtual memory. */
  virtualBytes: number;
  /** Resident pages (multiply by the page size). */
  residentPages: number;
}

/** /proc/<pid>/stat (the command is in parentheses and may contain spaces and parentheses). */
export function parsePidStat(text: string): ProcessStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error('/proc/<pid>/stat is not understood');
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // Fields after the command, counted from 3 (state) in proc(5).
  const field = (n: number) => Number(f[n - 3]);
  return {
    pid: Number(text.slice(0, open).trim()),
    command: text.slice(open + 1, close),
    userTime: field(14) / USER_HZ,
    systemTime: field(15) / USER_HZ,
    threads: field(20),
    virtualBytes: field(23),
    residentPages: field(24),
  };
}

/** The systemd unit of an Outpost agent a process runs in, from /proc/<pid>/cgroup (or undefined). */
export function outpostUnitOf(cgroup: string): string | undefined {
  const m = /\/(outpost-[a-z0-9-]+)\.service(?:\/|$)/m.exec(cgroup);
  return m?.[1];
}

/** A thermal sensor reading in millidegrees Celsius (sysfs) as degrees; undefined if not a number. */
export function millidegrees(text: string): number | undefined {
  const v = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(v) ? v / 1000 : undefined;
}
