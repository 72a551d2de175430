/**
 * The OpenTelemetry instruments of the host inputs, named after the OpenTelemetry semantic
 * conventions for system, hardware and process metrics. Each observes the latest sample of its
 * input: an export or a scrape never reads /proc itself.
 */
import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import { CPU_MODES } from '../domain/proc.js';
import type { MetricInput } from '../domain/plan.js';
import type { HostSamples } from './host-readers.js';
import type { SampledInput } from './sampled-input.js';

type Inputs = { [K in MetricInput]?: SampledInput<HostSamples[K]> };

type Observe<K extends MetricInput> = (sample: HostSamples[K], result: ObservableResult<Attributes>) => void;

/** An observable instrument reading the latest sample of `input` (nothing when the input is off). */
function observable<K extends MetricInput>(
  kind: 'gauge' | 'counter',
  meter: Meter,
  inputs: Inputs,
  input: K,
  name: string,
  unit: string,
  description: string,
  observe: Observe<K>,
): void {
  const sampled = inputs[input] as SampledInput<HostSamples[K]> | undefined;
  if (!sampled) return;
  const options = { unit, description };
  const instrument =
    kind === 'gauge'
      ? meter.createObservableGauge(name, options)
      : meter.createObservableCounter(name, options);
  instrument.addCallback((result) => {
    if (sampled.latest !== undefined) observe(sampled.latest, result);
  });
}

function gauge<K extends MetricInput>(...args: [Meter, Inputs, K, string, string, string, Observe<K>]): void {
  observable('gauge', ...args);
}

function counter<K extends MetricInput>(
  ...args: [Meter, Inputs, K, string, string, string, Observe<K>]
): void {
  observable('counter', ...args);
}

/** The attributes of one mounted file system. */
const fsAttributes = (fs: HostSamples['disk'][number]): Attributes => ({
  'system.device': fs.device,
  'system.filesystem.mountpoint': fs.mountpoint,
  'system.filesystem.type': fs.type,
});

export function registerHostInstruments(meter: Meter, inputs: Inputs): void {
  // cpu
  counter(meter, inputs, 'cpu', 'system.cpu.time', 's', 'CPU time of all cores, by mode', (s, r) => {
    for (const mode of CPU_MODES) r.observe(s.stat.total[mode], { 'cpu.mode': mode });
  });
  gauge(
    meter,
    inputs,
    'cpu',
    'system.cpu.utilization',
    '1',
    'Share of CPU time busy since the previous sample; cpu="total" or the core number',
    (s, r) => {
      if (s.utilization !== undefined) r.observe(s.utilization, { cpu: 'total' });
      for (const [core, u] of s.coreUtilization) r.observe(u, { cpu: String(core) });
    },
  );
  gauge(meter, inputs, 'cpu', 'system.cpu.logical_cores', '{cpu}', 'Logical cores', (s, r) =>
    r.observe(s.stat.cores.size),
  );
  // memory
  gauge(meter, inputs, 'memory', 'system.memory.usage', 'By', 'Memory in use, by state', (s, r) => {
    r.observe(s.used, { 'system.memory.state': 'used' });
    r.observe(s.free, { 'system.memory.state': 'free' });
    r.observe(s.buffers, { 'system.memory.state': 'buffers' });
    r.observe(s.cached, { 'system.memory.state': 'cached' });
  });
  gauge(meter, inputs, 'memory', 'system.memory.limit', 'By', 'Total memory', (s, r) => r.observe(s.total));
  gauge(
    meter,
    inputs,
    'memory',
    'system.memory.available',
    'By',
    'Memory available for new work (MemAvailable)',
    (s, r) => r.observe(s.available),
  );
  gauge(meter, inputs, 'memory', 'system.memory.utilization', '1', 'Share of memory used', (s, r) =>
    r.observe(s.total ? s.used / s.total : 0),
  );
  gauge(meter, inputs, 'memory', 'system.paging.usage', 'By', 'Swap space, by state', (s, r) => {
    r.observe(s.swapTotal - s.swapFree, { 'system.paging.state': 'used' });
    r.observe(s.swapFree, { 'system.paging.state': 'free' });
  });
  // disk (file systems)
  gauge(meter, inputs, 'disk', 'system.filesystem.usage', 'By', 'File system space, by state', (s, r) => {
    for (const fs of s) {
      const at = fsAttributes(fs);
      r.observe(fs.usedBytes, { ...at, 'system.filesystem.state': 'used' });
      r.observe(fs.freeBytes, { ...at, 'system.filesystem.state': 'free' });
      r.observe(fs.reservedBytes, { ...at, 'system.filesystem.state': 'reserved' });
    }
  });
  gauge(
    meter,
    inputs,
    'disk',
    'system.filesystem.utilization',
    '1',
    'Share of file system space used',
    (s, r) => {
      for (const fs of s) {
        const total = fs.usedBytes + fs.freeBytes;
        r.observe(total ? fs.usedBytes / total : 0, fsAttributes(fs));
      }
    },
  );
  // diskio
  counter(meter, inputs, 'diskio', 'system.disk.io', 'By', 'Bytes read and written, by disk', (s, r) => {
    for (const d of s) {
      r.observe(d.readBytes, { 'system.device': d.device, 'disk.io.direction': 'read' });
      r.observe(d.writtenBytes, { 'system.device': d.device, 'disk.io.direction': 'write' });
    }
  });
  counter(
    meter,
    inputs,
    'diskio',
    'system.disk.operations',
    '{operation}',
    'Reads and writes completed, by disk',
    (s, r) => {
      for (const d of s) {
        r.observe(d.reads, { 'system.device': d.device, 'disk.io.direction': 'read' });
        r.observe(d.writes, { 'system.device': d.device, 'disk.io.direction': 'write' });
      }
    },
  );
  counter(meter, inputs, 'diskio', 'system.disk.io_time', 's', 'Time the disk spent doing I/O', (s, r) => {
    for (const d of s) r.observe(d.ioTime, { 'system.device': d.device });
  });
  // net: four counters of one shape, receive and transmit per interface
  const netCounters = [
    ['system.network.io', 'By', 'Bytes received and sent, by interface', 'rxBytes', 'txBytes'],
    [
      'system.network.packets',
      '{packet}',
      'Packets received and sent, by interface',
      'rxPackets',
      'txPackets',
    ],
    ['system.network.errors', '{error}', 'Receive and send errors, by interface', 'rxErrors', 'txErrors'],
    ['system.network.dropped', '{packet}', 'Packets dropped, by interface', 'rxDropped', 'txDropped'],
  ] as const;
  for (const [name, unit, description, rx, tx] of netCounters) {
    counter(meter, inputs, 'net', name, unit, description, (s, r) => {
      for (const n of s) {
        r.observe(n[rx], { 'network.interface.name': n.name, 'network.io.direction': 'receive' });
        r.observe(n[tx], { 'network.interface.name': n.name, 'network.io.direction': 'transmit' });
      }
    });
  }
  // load
  for (const [i, window] of (['1m', '5m', '15m'] as const).entries()) {
    gauge(
      meter,
      inputs,
      'load',
      `system.cpu.load_average.${window}`,
      '{run_queue_item}',
      `Load average over ${window}`,
      (s, r) => r.observe(s[i]),
    );
  }
  // temperature
  gauge(
    meter,
    inputs,
    'temperature',
    'hw.temperature',
    'Cel',
    'Temperature of each sensor /sys exposes',
    (s, r) => {
      for (const t of s) r.observe(t.celsius, { 'hw.id': t.id, 'hw.name': t.name });
    },
  );
  // agents (process metrics of every Outpost unit)
  const proc = (a: HostSamples['agents'][number]) => ({ 'outpost.unit': a.unit, 'process.pid': a.pid });
  counter(
    meter,
    inputs,
    'agents',
    'process.cpu.time',
    's',
    'CPU time of each Outpost agent process, by mode',
    (s, r) => {
      for (const a of s) {
        r.observe(a.userTime, { ...proc(a), 'cpu.mode': 'user' });
        r.observe(a.systemTime, { ...proc(a), 'cpu.mode': 'system' });
      }
    },
  );
  const processGauges = [
    ['process.memory.usage', 'By', 'Resident memory of each Outpost agent process', 'residentBytes'],
    ['process.memory.virtual', 'By', 'Virtual memory of each Outpost agent process', 'virtualBytes'],
    ['process.threads', '{thread}', 'Threads of each Outpost agent process', 'threads'],
  ] as const;
  for (const [name, unit, description, field] of processGauges) {
    gauge(meter, inputs, 'agents', name, unit, description, (s, r) => {
      for (const a of s) r.observe(a[field], proc(a));
    });
  }
}
