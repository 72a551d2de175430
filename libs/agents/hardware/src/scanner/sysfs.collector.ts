/**
 * Collects raw facts from a Linux host: /proc and /sys under a configurable root (so a copied tree
 * can stand in for a machine), udev's database, and — on the real root only — what needs the
 * kernel's netlink or firmware tables: IPv4 addresses (os.networkInterfaces), DHCP use and memory
 * modules (systeminformation). A missing file means the feature is absent; a file that cannot be
 * read leaves its fields empty and adds a problem, and the rest of the scan goes on.
 */
import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { networkInterfaces, machine } from 'node:os';
import { basename, join } from 'node:path';
import si from 'systeminformation';
import { clean, intOf, lookupPciIds } from '../domain/parse.js';
import type {
  RawBlock,
  RawCpu,
  RawFacts,
  RawMemoryModule,
  RawNet,
  RawPci,
  RawProblem,
  RawUsb,
} from '../domain/raw-facts.js';

export interface CollectOptions {
  /** Root of the tree to read (default "/"). */
  root?: string;
  /**
   * Also ask the running kernel (os.networkInterfaces, systeminformation): only meaningful when
   * root is the live system. Default: root === "/".
   */
  hostApis?: boolean;
  /** Where root-only DMI files may be found as copies (the unit's credentials directory). */
  dmiFallbackDir?: string;
}

const DMI_FILES = [
  'sys_vendor',
  'product_name',
  'product_serial',
  'product_uuid',
  'bios_vendor',
  'bios_version',
  'bios_date',
];
/** DMI files the kernel makes root-only: unreadable is expected for an unprivileged agent. */
const ROOT_ONLY_DMI = new Set(['product_serial', 'product_uuid']);
const PCI_IDS = ['usr/share/misc/pci.ids', 'usr/share/hwdata/pci.ids'];
const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

class Reader {
  readonly problems: RawProblem[] = [];

  constructor(readonly root: string) {}

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** File text; undefined when absent (ENOENT, or EINVAL/ENODEV of attributes a driver lacks). */
  async text(component: string, rel: string, optional = false): Promise<string | undefined> {
    try {
      return await readFile(this.path(rel), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EINVAL' || code === 'ENODEV' || code === 'ENXIO') return undefined;
      this.problem(component, `${join('/', rel)}: ${code ?? String(err)}`, optional);
      return undefined;
    }
  }

  async list(component: string, rel: string): Promise<string[]> {
    try {
      return await readdir(this.path(rel));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.problem(component, `${join('/', rel)}: ${code ?? String(err)}`, false);
      return [];
    }
  }

  async real(rel: string): Promise<string | undefined> {
    try {
      return await realpath(this.path(rel));
    } catch {
      return undefined;
    }
  }

  async link(rel: string): Promise<string | undefined> {
    try {
      return basename(await readlink(this.path(rel)));
    } catch {
      return undefined;
    }
  }

  problem(component: string, message: string, optional: boolean): void {
    this.problems.push({ component, message, optional });
  }
}

export async function collectHostFacts(options: CollectOptions = {}): Promise<RawFacts> {
  const root = options.root ?? '/';
  const hostApis = options.hostApis ?? root === '/';
  const r = new Reader(root);
  const [cpuinfo, meminfo, osRelease, kernelRelease, kernelArch] = await Promise.all([
    r.text('cpu', 'proc/cpuinfo'),
    r.text('memory', 'proc/meminfo'),
    r.text('os', 'etc/os-release').then((t) => t ?? r.text('os', 'usr/lib/os-release')),
    r.text('os', 'proc/sys/kernel/osrelease'),
    r.text('cpu', 'proc/sys/kernel/arch', true),
  ]);
  // Absent (not merely unreadable, which is already a problem): nothing to read CPU or memory from.
  const reported = (c: string) => r.problems.some((p) => p.component === c);
  if (cpuinfo === undefined && !reported('cpu')) r.problem('cpu', '/proc/cpuinfo is missing', false);
  if (meminfo === undefined && !reported('memory')) r.problem('memory', '/proc/meminfo is missing', false);
  const [dmi, deviceTree, cpus, hybrid, blocks, nets, ifInet6, pci, usb] = await Promise.all([
    collectDmi(r, options.dmiFallbackDir),
    collectDeviceTree(r),
    collectCpus(r),
    collectHybrid(r),
    collectBlocks(r),
    collectNets(r),
    r.text('nics', 'proc/net/if_inet6', true),
    collectPci(r),
    collectUsb(r),
  ]);
  const facts: RawFacts = {
    cpuinfo,
    meminfo,
    osRelease,
    kernelRelease,
    arch: clean(kernelArch) ?? (hostApis ? machine() : undefined),
    dmi,
    deviceTree,
    cpus,
    hybrid,
    blocks,
    nets,
    ifInet6,
    pci,
    usb,
  };
  if (hostApis) {
    await addHostApiFacts(r, facts);
  }
  facts.problems = r.problems;
  return facts;
}

async function collectDmi(r: Reader, fallbackDir?: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const present = await r.list('system', 'sys/class/dmi/id');
  if (!present.length) return out;
  await Promise.all(
    DMI_FILES.filter((f) => present.includes(f)).map(async (f) => {
      const component = f.startsWith('bios') ? 'bios' : 'system';
      const problemsBefore = r.problems.length;
      let value = await r.text(component, `sys/class/dmi/id/${f}`, ROOT_ONLY_DMI.has(f));
      if (value === undefined && fallbackDir) {
        value = await readFile(join(fallbackDir, f), 'utf8').catch(() => undefined);
        // A usable copy makes the unreadable original no problem at all.
        if (clean(value) !== undefined && clean(value) !== 'unavailable') r.problems.splice(problemsBefore);
        else value = undefined;
      }
      if (value !== undefined) out[f] = value;
    }),
  );
  return out;
}

async function collectDeviceTree(r: Reader): Promise<RawFacts['deviceTree']> {
  const [model, serialNumber] = await Promise.all([
    r.text('system', 'proc/device-tree/model', true),
    r.text('system', 'proc/device-tree/serial-number', true),
  ]);
  return model === undefined && serialNumber === undefined ? undefined : { model, serialNumber };
}

async function collectCpus(r: Reader): Promise<RawCpu[]> {
  const names = (await r.list('cpu', 'sys/devices/system/cpu')).filter((n) => /^cpu\d+$/.test(n));
  return Promise.all(
    names.map(async (n) => {
      const base = `sys/devices/system/cpu/${n}`;
      const [pkg, core, maxKHz, capacity] = await Promise.all([
        r.text('cpu', `${base}/topology/physical_package_id`, true),
        r.text('cpu', `${base}/topology/core_id`, true),
        r.text('cpu', `${base}/cpufreq/cpuinfo_max_freq`, true),
        r.text('cpu', `${base}/cpu_capacity`, true),
      ]);
      return {
        cpu: Number(n.slice(3)),
        packageId: intOf(pkg),
        coreId: intOf(core),
        maxKHz: intOf(maxKHz),
        capacity: intOf(capacity),
      };
    }),
  );
}

async function collectHybrid(r: Reader): Promise<RawFacts['hybrid']> {
  const [core, atom] = await Promise.all([
    r.text('cpu', 'sys/devices/cpu_core/cpus', true),
    r.text('cpu', 'sys/devices/cpu_atom/cpus', true),
  ]);
  return core === undefined && atom === undefined ? undefined : { core, atom };
}

async function collectBlocks(r: Reader): Promise<RawBlock[]> {
  const names = await r.list('disks', 'sys/block');
  const blocks = await Promise.all(
    names.map(async (name): Promise<RawBlock> => {
      const real = (await r.real(`sys/block/${name}`)) ?? '';
      const virtual = real.includes('/devices/virtual/');
      if (virtual) return { name, virtual };
      const base = `sys/block/${name}`;
      const t = (rel: string) => r.text('disks', `${base}/${rel}`, true);
      const [sectors, rota, removable, model, vendor, serial, wwid, devWwid, dev] = await Promise.all([
        t('size'),
        t('queue/rotational'),
        t('removable'),
        t('device/model'),
        t('device/vendor'),
        t('device/serial'),
        t('wwid'),
        t('device/wwid'),
        t('dev'),
      ]);
      const udevData = dev ? await r.text('disks', `run/udev/data/b${clean(dev)}`, true) : undefined;
      return {
        name,
        virtual,
        sectors: intOf(sectors),
        rotational: clean(rota) === undefined ? undefined : clean(rota) === '1',
        removable: clean(removable) === undefined ? undefined : clean(removable) === '1',
        model,
        vendor,
        serial,
        wwid: wwid ?? devWwid,
        udevData,
      };
    }),
  );
  return blocks.sort((a, b) => a.name.localeCompare(b.name));
}

/** The PCI address of the device behind a sysfs path: the component before net/ (virtioN skipped). */
export function pciAddressOf(devicePath: string): string | undefined {
  const parts = devicePath.split('/');
  let i = parts.lastIndexOf('net') - 1;
  while (i >= 0 && /^virtio\d+$/.test(parts[i] as string)) i--;
  const candidate = parts[i];
  return candidate && PCI_ADDRESS.test(candidate) ? candidate : undefined;
}

async function collectNets(r: Reader): Promise<RawNet[]> {
  const names = await r.list('nics', 'sys/class/net');
  const nets = await Promise.all(
    names.map(async (name): Promise<RawNet> => {
      const real = (await r.real(`sys/class/net/${name}`)) ?? '';
      const virtual = real.includes('/devices/virtual/');
      if (virtual) return { name, virtual };
      const base = `sys/class/net/${name}`;
      const t = (rel: string) => r.text('nics', `${base}/${rel}`, true);
      const [address, operstate, speed, mtu, totalVfs, numVfs, entries, physfn] = await Promise.all([
        t('address'),
        t('operstate'),
        t('speed'),
        t('mtu'),
        t('device/sriov_totalvfs'),
        t('device/sriov_numvfs'),
        r.list('nics', `${base}/device`),
        r.link(`${base}/device/physfn`),
      ]);
      const vfLinks = entries.filter((e) => /^virtfn\d+$/.test(e));
      const vfs = await Promise.all(vfLinks.map((v) => r.link(`${base}/device/${v}`)));
      return {
        name,
        virtual,
        address,
        operstate,
        speed: intOf(speed),
        mtu: intOf(mtu),
        pciAddress: pciAddressOf(real),
        sriovTotalVfs: intOf(totalVfs),
        sriovNumVfs: intOf(numVfs),
        vfPciAddresses: vfs.filter((v): v is string => v !== undefined),
        physfn,
      };
    }),
  );
  return nets.sort((a, b) => a.name.localeCompare(b.name));
}

/** Display controllers only (class 0x03): the rest of the PCI bus is not part of the inventory. */
async function collectPci(r: Reader): Promise<RawPci[]> {
  const addresses = await r.list('gpus', 'sys/bus/pci/devices');
  const found = await Promise.all(
    addresses.map(async (address): Promise<RawPci | undefined> => {
      const base = `sys/bus/pci/devices/${address}`;
      const cls = await r.text('gpus', `${base}/class`, true);
      if (!clean(cls)?.toLowerCase().startsWith('0x03')) return undefined;
      const [vendor, device] = await Promise.all([
        r.text('gpus', `${base}/vendor`, true),
        r.text('gpus', `${base}/device`, true),
      ]);
      return { address, vendor: vendor ?? '', device: device ?? '', class: cls ?? '' };
    }),
  );
  const gpus = found.filter((p): p is RawPci => p !== undefined);
  if (gpus.length) await namePciDevices(r, gpus);
  return gpus.sort((a, b) => a.address.localeCompare(b.address));
}

async function namePciDevices(r: Reader, devices: RawPci[]): Promise<void> {
  for (const rel of PCI_IDS) {
    const text = await readFile(r.path(rel), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    for (const d of devices) {
      const hex = (v: string) => (clean(v) ?? '').toLowerCase().replace(/^0x/, '');
      const names = lookupPciIds(text, hex(d.vendor), hex(d.device));
      d.vendorName = names.vendor;
      d.deviceName = names.device;
    }
    return;
  }
}

async function collectUsb(r: Reader): Promise<RawUsb[]> {
  const names = (await r.list('usb', 'sys/bus/usb/devices')).filter((n) => !n.includes(':'));
  const devices = await Promise.all(
    names.map(async (name): Promise<RawUsb> => {
      const base = `sys/bus/usb/devices/${name}`;
      const t = (rel: string) => r.text('usb', `${base}/${rel}`, true);
      const [busnum, devnum, idVendor, idProduct, bDeviceClass, manufacturer, product, serial] =
        await Promise.all([
          t('busnum'),
          t('devnum'),
          t('idVendor'),
          t('idProduct'),
          t('bDeviceClass'),
          t('manufacturer'),
          t('product'),
          t('serial'),
        ]);
      return { name, busnum, devnum, idVendor, idProduct, bDeviceClass, manufacturer, product, serial };
    }),
  );
  return devices.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * DHCP use per interface, as last asked, with the interfaces and addresses it was asked for.
 * systeminformation spends ~50 ms spawning helpers per interface to find it; it can only change with
 * the addresses, so a rescan with the same interfaces and addresses reuses the answer.
 */
let dhcpCache: { key: string; dhcp: Map<string, boolean> } | undefined;

/** What only the live kernel can tell: IPv4 addresses (netlink), DHCP use, DIMMs (SMBIOS). */
async function addHostApiFacts(r: Reader, facts: RawFacts): Promise<void> {
  const nets = facts.nets ?? [];
  try {
    const ifaces = networkInterfaces();
    for (const n of nets) {
      n.ipv4 = (ifaces[n.name] ?? [])
        .filter((a) => a.family === 'IPv4' && a.cidr)
        .map((a) => a.cidr as string);
    }
  } catch (err) {
    r.problem('nics', `IPv4 addresses unavailable (needs AF_NETLINK): ${String(err)}`, false);
  }
  const key = JSON.stringify(nets.map((n) => [n.name, n.address, n.ipv4]));
  const [siNets, modules] = await Promise.all([
    dhcpCache?.key === key
      ? [...dhcpCache.dhcp].map(([iface, dhcp]) => ({ iface, dhcp }))
      : si.networkInterfaces().catch((err: unknown) => {
          r.problem('nics', `DHCP use unknown: ${String(err)}`, true);
          return [];
        }),
    si.memLayout().catch((err: unknown) => {
      r.problem('memory', `memory modules unavailable: ${String(err)}`, true);
      return undefined;
    }),
  ]);
  const dhcp = new Map((Array.isArray(siNets) ? siNets : [siNets]).map((n) => [n.iface, n.dhcp]));
  if (dhcp.size > 0) dhcpCache = { key, dhcp };
  for (const n of nets) if (!n.virtual && dhcp.has(n.name)) n.dhcp = dhcp.get(n.name);
  if (modules) {
    // Without dmidecode (or without the right to read the SMBIOS tables) systeminformation returns
    // a single bank-less entry made up from /proc/meminfo: that is not a module.
    const real = modules.filter((m) => m.bank || m.type || m.partNum);
    facts.memoryModules = real.map((m): RawMemoryModule => ({
      locator: m.bank,
      sizeBytes: m.size,
      type: m.type,
      speedMts: m.clockSpeed ?? 0,
      manufacturer: m.manufacturer,
      partNumber: m.partNum,
      serial: m.serialNum,
    }));
    if (!real.length) {
      r.problem(
        'memory',
        'memory modules not readable (SMBIOS via dmidecode is missing or needs root); total from /proc/meminfo',
        true,
      );
    }
  }
}
