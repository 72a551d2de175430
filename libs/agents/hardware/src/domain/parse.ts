/**
 * Parsers of the kernel's text formats (/proc/cpuinfo, /proc/meminfo, /proc/net/if_inet6,
 * os-release, udev database entries and monitor lines, cpu lists, pci.ids). Pure functions over text: no fs, so the same code
 * reads this machine and a recorded fixture.
 */

/** A sysfs/procfs value without its trailing newline; empty and whitespace-only become undefined. */
export function clean(text: string | undefined): string | undefined {
  const value = text?.replace(/\0/g, '').trim();
  return value ? value : undefined;
}

export function intOf(text: string | undefined, radix = 10): number | undefined {
  const value = clean(text);
  if (value === undefined) return undefined;
  const n = radix === 16 ? parseInt(value.replace(/^0x/i, ''), 16) : Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** /proc/cpuinfo: one record per logical CPU, "key\t: value" lines, blank line between records. */
export function parseCpuinfo(text: string): Record<string, string>[] {
  const records: Record<string, string>[] = [];
  let current: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (line.trim() === '') {
      if (Object.keys(current).length) records.push(current);
      current = {};
    } else if (colon > 0) {
      current[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  if (Object.keys(current).length) records.push(current);
  return records;
}

/** /proc/meminfo values in bytes ("MemTotal:  16303460 kB"). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(\w[\w()]*):\s+(\d+)(?:\s+kB)?$/gm)) {
    out[m[1] as string] = Number(m[2]) * (m[0].endsWith('kB') ? 1024 : 1);
  }
  return out;
}

/** os-release(5): KEY=value lines, values optionally quoted with shell escapes. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2] as string;
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = (quoted[2] as string).replace(/\\(["'$`\\])/g, '$1');
    out[m[1] as string] = value;
  }
  return out;
}

/** A udev database entry: its E:KEY=value properties. */
export function parseUdevData(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^E:([^=\n]+)=(.*)$/gm)) out[m[1] as string] = m[2] as string;
  return out;
}

/** A kernel cpu list ("0-3,8,10-11") as numbers. */
export function parseCpuList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of clean(text)?.split(',') ?? []) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b !== undefined && Number.isInteger(b) ? b : a;
    for (let i = a; i <= end; i++) out.push(i);
  }
  return out;
}

export interface Inet6Entry {
  iface: string;
  address: string;
  prefix: number;
  /** IFA_F_* flags; 0x80 is IFA_F_PERMANENT (configured, not autoconfigured or leased). */
  flags: number;
}

export const IFA_F_PERMANENT = 0x80;

/** /proc/net/if_inet6: "<32 hex> <ifindex> <prefix> <scope> <flags> <name>", all hex. */
export function parseIfInet6(text: string): Inet6Entry[] {
  const out: Inet6Entry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^[0-9a-f]{32}$/i.test(f[0] as string)) continue;
    out.push({
      iface: f[5] as string,
      address: compressIpv6(f[0] as string),
      prefix: parseInt(f[2] as string, 16),
      flags: parseInt(f[4] as string, 16),
    });
  }
  return out;
}

/** 32 hex digits as the RFC 5952 text form (lowercase, longest zero run of 2+ groups as "::"). */
export function compressIpv6(hex32: string): string {
  const groups = (hex32.toLowerCase().match(/.{4}/g) ?? []).map((g) => g.replace(/^0+(?=.)/, ''));
  let best = { start: -1, len: 0 };
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.len) best = { start: i, len: j - i };
    i = j;
  }
  if (best.len < 2) return groups.join(':');
  const head = groups.slice(0, best.start).join(':');
  const tail = groups.slice(best.start + best.len).join(':');
  return `${head}::${tail}`;
}

/**
 * Vendor and device names from a pci.ids text ("vvvv  Vendor", then "\tdddd  Device" lines under
 * it). Ids are 4 lowercase hex digits.
 */
export function lookupPciIds(
  text: string,
  vendorId: string,
  deviceId: string,
): { vendor?: string; device?: string } {
  const vendorAt = text.search(new RegExp(`^${vendorId}  `, 'm'));
  if (vendorAt < 0) return {};
  const lineEnd = text.indexOf('\n', vendorAt);
  const vendor = text.slice(vendorAt + 6, lineEnd < 0 ? undefined : lineEnd).trim();
  const nextVendor = text.slice(lineEnd + 1).search(/^[0-9a-f]{4} {2}/m);
  const block = text.slice(lineEnd + 1, nextVendor < 0 ? undefined : lineEnd + 1 + nextVendor);
  const device = new RegExp(`^\\t${deviceId}  (.+)$`, 'm').exec(block)?.[1]?.trim();
  return { vendor, device };
}

export interface UdevEvent {
  source: 'UDEV' | 'KERNEL';
  action: string;
  devpath: string;
  subsystem: string;
}

/** One line of `udevadm monitor`: "UDEV  [1234.567890] add      /devices/... (block)". */
export function parseUdevMonitorLine(line: string): UdevEvent | undefined {
  const m = /^(UDEV|KERNEL)\s*\[[\d.]+\]\s+(\S+)\s+(\S+)\s+\((\S+)\)\s*$/.exec(line.trim());
  if (!m) return undefined;
  return {
    source: m[1] as 'UDEV' | 'KERNEL',
    action: m[2] as string,
    devpath: m[3] as string,
    subsystem: m[4] as string,
  };
}
