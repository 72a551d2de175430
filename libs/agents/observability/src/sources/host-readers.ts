/**
 * The readers of the host inputs: each returns one sample of its input from /proc and /sys (and
 * statfs for file system usage). They are cheap enough for a 1 s interval; `systeminformation` is
 * not needed for any of them (it would spawn commands or parse the same files).
 */
import { readdir, readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cpuUtilization,
  millidegrees,
  outpostUnitOf,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parsePidStat,
  parseProcStat,
  type CpuStat,
  type DiskIo,
  type MemInfo,
  type NetInterface,
  type ProcessStat,
} from '../domain/proc.js';
import type { MetricInput } from '../domain/plan.js';

export interface Roots {
  /** Where /proc is (default /proc). */
  proc: string;
  /** Where /sys is (default /sys). */
  sys: string;
}

export const DEFAULT_ROOTS: Roots = { proc: '/proc', sys: '/sys' };

export interface CpuSample {
  stat: CpuStat;
  /** Share busy since the previous sample: all cores, then each core (absent on the first sample). */
  utilization?: number;
  coreUtilization: Map<number, number>;
}

export interface FilesystemSample {
  device: string;
  mountpoint: string;
  type: string;
  usedBytes: number;
  freeBytes: number;
  /** Blocks only root may use. */
  reservedBytes: number;
}

export interface TemperatureSample {
  /** thermal_zoneN or hwmonN/tempM. */
  id: string;
  name: string;
  celsius: number;
}

export interface AgentProcessSample extends ProcessStat {
  /** The Outpost unit the process runs in, or "self" for this process outside any unit. */
  unit: string;
  residentBytes: number;
}

export interface HostSamples {
  cpu: CpuSample;
  memory: MemInfo;
  disk: FilesystemSample[];
  diskio: DiskIo[];
  net: NetInterface[];
  load: [number, number, number];
  temperature: TemperatureSample[];
  agents: AgentProcessSample[];
}

const PAGE_SIZE = 4096;

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

async function cpu(roots: Roots, previous: CpuSample | undefined): Promise<CpuSample> {
  const stat = parseProcStat(await readText(join(roots.proc, 'stat')));
  const coreUtilization = new Map<number, number>();
  let utilization: number | undefined;
  if (previous) {
    utilization = cpuUtilization(previous.stat.total, stat.total);
    for (const [core, times] of stat.cores) {
      const before = previous.stat.cores.get(core);
      const u = before && cpuUtilization(before, times);
      if (u !== undefined) coreUtilization.set(core, u);
    }
  }
  return { stat, utilization, coreUtilization };
}

async function disk(roots: Roots): Promise<FilesystemSample[]> {
  const mounts = parseMounts(await readText(join(roots.proc, 'self', 'mounts')));
  const out: FilesystemSample[] = [];
  for (const m of mounts) {
    try {
      const s = await statfs(m.mountpoint);
      out.push({
        ...m,
        usedBytes: (s.blocks - s.bfree) * s.bsize,
        freeBytes: s.bavail * s.bsize,
        reservedBytes: (s.bfree - s.bavail) * s.bsize,
      });
    } catch {
      // Unmounted between the read of the mount table and statfs, or not ours to see.
    }
  }
  return out;
}

async function diskio(roots: Roots): Promise<DiskIo[]> {
  // Whole disks are the entries of /sys/block; loop and RAM disks are not storage.
  const disks = new Set(
    (await readdir(join(roots.sys, 'block')).catch(() => [] as string[])).filter(
      (d) => !/^(loop|ram|zram)\d/.test(d),
    ),
  );
  return parseDiskstats(await readText(join(roots.proc, 'diskstats')), (d) => disks.has(d));
}

async function temperature(roots: Roots): Promise<TemperatureSample[]> {
  const out: TemperatureSample[] = [];
  const thermal = join(roots.sys, 'class', 'thermal');
  for (const zone of (await readdir(thermal).catch(() => [] as string[])).filter((z) =>
    z.startsWith('thermal_zone'),
  )) {
    const celsius = millidegrees(await readText(join(thermal, zone, 'temp')).catch(() => ''));
    if (celsius === undefined) continue;
    const name = (await readText(join(thermal, zone, 'type')).catch(() => zone)).trim();
    out.push({ id: zone, name, celsius });
  }
  const hwmon = join(roots.sys, 'class', 'hwmon');
  for (const dev of await readdir(hwmon).catch(() => [] as string[])) {
    const files = await readdir(join(hwmon, dev)).catch(() => [] as string[]);
    const chip = (await readText(join(hwmon, dev, 'name')).catch(() => dev)).trim();
    for (const f of files.filter((x) => /^temp\d+_input$/.test(x))) {
      const celsius = millidegrees(await readText(join(hwmon, dev, f)).catch(() => ''));
      if (celsius === undefined) continue;
      const label = (await readText(join(hwmon, dev, f.replace('_input', '_label'))).catch(() => '')).trim();
      out.push({ id: `${dev}/${f.replace('_input', '')}`, name: label ? `${chip} ${label}` : chip, celsius });
    }
  }
  return out;
}

/**
 * The agents' processes: every process whose cgroup is an outpost-*.service unit (each agent under
 * its own unit, or edge-node), plus this process. Read from /proc/<pid>, so no agent has to publish
 * anything and a hung agent is still measured.
 */
async function agents(roots: Roots): Promise<AgentProcessSample[]> {
  const out: AgentProcessSample[] = [];
  const self = process.pid;
  for (const entry of await readdir(roots.proc)) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const unit =
        outpostUnitOf(await readText(join(roots.proc, entry, 'cgroup'))) ??
        (pid === self ? 'self' : undefined);
      if (!unit) continue;
      const stat = parsePidStat(await readText(join(roots.proc, entry, 'stat')));
      out.push({ ...stat, unit, residentBytes: stat.residentPages * PAGE_SIZE });
    } catch {
      // The process ended while it was read.
    }
  }
  return out;
}

/** The reader of each metric input. */
export function hostReaders(roots: Roots = DEFAULT_ROOTS): {
  [K in MetricInput]: (previous: HostSamples[K] | undefined) => Promise<HostSamples[K]>;
} {
  return {
    cpu: (previous) => cpu(roots, previous),
    memory: async () => parseMeminfo(await readText(join(roots.proc, 'meminfo'))),
    disk: () => disk(roots),
    diskio: () => diskio(roots),
    net: async () => parseNetDev(await readText(join(roots.proc, 'net', 'dev'))),
    load: async () => parseLoadavg(await readText(join(roots.proc, 'loadavg'))),
    temperature: () => temperature(roots),
    agents: () => agents(roots),
  };
}
