/**
 * Raw facts → the inventory contract. Pure: every rule about what a value means (placeholder DMI
 * strings, virtual devices skipped, P/E cores, static vs dynamic addresses) lives here, so fixtures
 * of other machines exercise exactly the code the real host runs.
 */
import { AddressOrigin, CpuCoreType, LinkState } from '@outpost/contracts';
import type {
  CpuContent,
  DiskContent,
  GpuContent,
  InventoryContent,
  IpAddressContent,
  LogicalCpuContent,
  NicContent,
  ProblemContent,
  UsbContent,
} from './inventory.js';
import {
  clean,
  IFA_F_PERMANENT,
  intOf,
  parseCpuinfo,
  parseCpuList,
  parseIfInet6,
  parseMeminfo,
  parseOsRelease,
  parseUdevData,
} from './parse.js';
import type { RawBlock, RawCpu, RawFacts, RawNet, RawPci, RawUsb } from './raw-facts.js';

export interface Normalized {
  content: InventoryContent;
  problems: ProblemContent[];
}

/** Strings firmware vendors ship when they did not fill a DMI field in. */
const DMI_PLACEHOLDERS =
  /^(to be filled by o\.?e\.?m\.?|default string|system (product name|serial number|manufacturer)|not specified|not applicable|none|n\/a|0+|0123456789|unknown|chassis serial number|base board serial number)$/i;

export function dmiValue(text: string | undefined): string {
  const value = clean(text);
  return value && !DMI_PLACEHOLDERS.test(value) ? value : '';
}

/** The few GPU vendors worth naming without pci.ids. */
const PCI_VENDORS: Record<string, string> = {
  '8086': 'Intel Corporation',
  '10de': 'NVIDIA Corporation',
  '1002': 'Advanced Micro Devices, Inc. [AMD/ATI]',
  '1a03': 'ASPEED Technology, Inc.',
  '102b': 'Matrox Electronics Systems Ltd.',
  '1234': 'QEMU (Bochs display)',
  '1af4': 'Red Hat, Inc. (virtio)',
  '15ad': 'VMware',
  '13b5': 'ARM',
  '5143': 'Qualcomm',
};

/** ARM "CPU implementer" codes of /proc/cpuinfo. */
const ARM_IMPLEMENTERS: Record<string, string> = {
  '0x41': 'ARM',
  '0x42': 'Broadcom',
  '0x43': 'Cavium',
  '0x46': 'Fujitsu',
  '0x48': 'HiSilicon',
  '0x4e': 'NVIDIA',
  '0x50': 'APM',
  '0x51': 'Qualcomm',
  '0x61': 'Apple',
  '0x69': 'Intel',
  '0xc0': 'Ampere',
};

const LINK_STATES: Record<string, LinkState> = {
  up: LinkState.UP,
  down: LinkState.DOWN,
  dormant: LinkState.DORMANT,
  lowerlayerdown: LinkState.LOWER_LAYER_DOWN,
  notpresent: LinkState.NOT_PRESENT,
  testing: LinkState.TESTING,
  unknown: LinkState.UNKNOWN,
};

/** Cores below this share of the largest cpu_capacity count as efficiency cores (big.LITTLE). */
const EFFICIENCY_CAPACITY_SHARE = 0.75;

export function normalize(raw: RawFacts): Normalized {
  const problems: ProblemContent[] = [...(raw.problems ?? [])];
  const dmi = raw.dmi ?? {};
  const dt = raw.deviceTree ?? {};
  if (!Object.keys(dmi).length && !dt.model) {
    problems.push({
      component: 'system',
      message: 'no DMI (/sys/class/dmi/id) and no device-tree model: system and BIOS fields are empty',
      optional: true,
    });
  }
  const os = parseOsRelease(raw.osRelease ?? '');
  const meminfo = parseMeminfo(raw.meminfo ?? '');
  const content: InventoryContent = {
    system: {
      vendor: dmiValue(dmi['sys_vendor']),
      product: dmiValue(dmi['product_name']) || dmiValue(dt.model),
      serial: dmiValue(dmi['product_serial']) || dmiValue(dt.serialNumber),
      uuid: dmiValue(dmi['product_uuid']).toLowerCase(),
    },
    bios: {
      vendor: dmiValue(dmi['bios_vendor']),
      version: dmiValue(dmi['bios_version']),
      date: dmiValue(dmi['bios_date']),
    },
    cpu: normalizeCpu(raw),
    memory: {
      totalBytes: meminfo['MemTotal'] ?? 0,
      modules: (raw.memoryModules ?? [])
        .map((m) => ({
          locator: m.locator,
          sizeBytes: m.sizeBytes,
          type: m.type ?? '',
          speedMts: m.speedMts ?? 0,
          manufacturer: dmiValue(m.manufacturer),
          partNumber: dmiValue(m.partNumber),
          serial: dmiValue(m.serial),
        }))
        .sort((a, b) => a.locator.localeCompare(b.locator)),
    },
    disks: (raw.blocks ?? [])
      .filter(isPhysicalDisk)
      .map(normalizeDisk)
      .sort((a, b) => a.name.localeCompare(b.name)),
    nics: normalizeNics(raw),
    gpus: (raw.pci ?? [])
      .filter((p) => clean(p.class)?.toLowerCase().startsWith('0x03'))
      .map(normalizeGpu)
      .sort((a, b) => a.pciAddress.localeCompare(b.pciAddress)),
    usbDevices: (raw.usb ?? [])
      .map(normalizeUsb)
      .filter((u): u is UsbContent => u !== undefined)
      .sort((a, b) => a.bus - b.bus || a.address - b.address),
    os: {
      kernel: clean(raw.kernelRelease) ?? '',
      id: os['ID'] ?? '',
      versionId: os['VERSION_ID'] ?? '',
      prettyName: os['PRETTY_NAME'] ?? '',
    },
  };
  return { content, problems };
}

export function normalizeCpu(raw: RawFacts): CpuContent {
  const records = parseCpuinfo(raw.cpuinfo ?? '');
  const first = records[0] ?? {};
  const implementer = first['cpu implementer']?.toLowerCase();
  const vendor =
    first['vendor_id'] ?? (implementer ? (ARM_IMPLEMENTERS[implementer] ?? implementer) : undefined) ?? '';
  const model =
    first['model name'] ??
    first['cpu model'] ??
    (implementer && first['cpu part'] ? `${vendor} part ${first['cpu part']}` : '');
  const flags = [...new Set((first['flags'] ?? first['features'] ?? '').split(/\s+/).filter(Boolean))].sort();

  const cpus: RawCpu[] = raw.cpus?.length
    ? [...raw.cpus].sort((a, b) => a.cpu - b.cpu)
    : records
        .filter((r) => r['processor'] !== undefined && /^\d+$/.test(r['processor']))
        .map((r) => ({
          cpu: Number(r['processor']),
          packageId: intOf(r['physical id']),
          coreId: intOf(r['core id']),
        }));
  const types = coreTypes(raw, cpus);
  const logicalCpus: LogicalCpuContent[] = cpus.map((c) => ({
    cpu: c.cpu,
    packageId: c.packageId ?? 0,
    coreId: c.coreId ?? c.cpu,
    maxMhz: c.maxKHz ? Math.round(c.maxKHz / 1000) : 0,
    coreType: types.get(c.cpu) ?? CpuCoreType.UNSPECIFIED,
  }));
  const coreKey = (c: LogicalCpuContent) => `${c.packageId}/${c.coreId}`;
  const coresOf = (t?: CpuCoreType) =>
    new Set(logicalCpus.filter((c) => t === undefined || c.coreType === t).map(coreKey)).size;
  return {
    vendor,
    model,
    arch: clean(raw.arch) ?? '',
    sockets: new Set(logicalCpus.map((c) => c.packageId)).size,
    cores: coresOf(),
    threads: logicalCpus.length,
    flags,
    logicalCpus,
    performanceCores: coresOf(CpuCoreType.PERFORMANCE),
    efficiencyCores: coresOf(CpuCoreType.EFFICIENCY),
  };
}

/**
 * P/E cores: Intel hybrid CPUs list them (cpu_core, cpu_atom); elsewhere a spread in cpu_capacity
 * (arm64 big.LITTLE) tells them apart. A spread in max frequency alone does not: Turbo Boost Max
 * "favoured" cores are faster P-cores, not a different kind. Homogeneous CPUs stay UNSPECIFIED.
 */
function coreTypes(raw: RawFacts, cpus: RawCpu[]): Map<number, CpuCoreType> {
  const out = new Map<number, CpuCoreType>();
  const pCores = parseCpuList(raw.hybrid?.core);
  const eCores = parseCpuList(raw.hybrid?.atom);
  if (pCores.length && eCores.length) {
    for (const c of pCores) out.set(c, CpuCoreType.PERFORMANCE);
    for (const c of eCores) out.set(c, CpuCoreType.EFFICIENCY);
    return out;
  }
  const capacities = cpus.map((c) => c.capacity).filter((c): c is number => c !== undefined && c > 0);
  if (capacities.length !== cpus.length || !capacities.length) return out;
  const max = Math.max(...capacities);
  if (Math.min(...capacities) >= max * EFFICIENCY_CAPACITY_SHARE) return out;
  for (const c of cpus) {
    out.set(
      c.cpu,
      (c.capacity ?? 0) < max * EFFICIENCY_CAPACITY_SHARE ? CpuCoreType.EFFICIENCY : CpuCoreType.PERFORMANCE,
    );
  }
  return out;
}

/** Loop, ram, zram, device-mapper and md devices have no hardware behind them. */
export function isPhysicalDisk(b: RawBlock): boolean {
  return !b.virtual && !/^(loop|ram|zram|dm-|md|nbd)\d*/.test(b.name);
}

function normalizeDisk(b: RawBlock): DiskContent {
  const udev = parseUdevData(b.udevData ?? '');
  return {
    name: b.name,
    model: clean(b.model) ?? clean(udev['ID_MODEL']?.replace(/_/g, ' ')) ?? '',
    vendor: clean(b.vendor) ?? clean(udev['ID_VENDOR']) ?? '',
    serial: clean(b.serial) ?? clean(udev['ID_SERIAL_SHORT']) ?? '',
    wwn: clean(udev['ID_WWN_WITH_EXTENSION']) ?? clean(udev['ID_WWN']) ?? clean(b.wwid) ?? '',
    sizeBytes: (b.sectors ?? 0) * 512,
    rotational: b.rotational ?? false,
    removable: b.removable ?? false,
  };
}

function normalizeNics(raw: RawFacts): NicContent[] {
  const inet6 = parseIfInet6(raw.ifInet6 ?? '');
  return (raw.nets ?? [])
    .filter((n) => !n.virtual)
    .map((n) =>
      normalizeNic(
        n,
        inet6.filter((e) => e.iface === n.name),
      ),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
}

function normalizeNic(n: RawNet, inet6: ReturnType<typeof parseIfInet6>): NicContent {
  const v4: IpAddressContent[] = (n.ipv4 ?? []).map((cidr) => {
    const [address = '', prefix = '32'] = cidr.split('/');
    return {
      address,
      prefixLength: Number(prefix),
      family: 4,
      origin:
        n.dhcp === undefined
          ? AddressOrigin.UNSPECIFIED
          : n.dhcp
            ? AddressOrigin.DYNAMIC
            : AddressOrigin.STATIC,
    };
  });
  const v6: IpAddressContent[] = inet6.map((e) => ({
    address: e.address,
    prefixLength: e.prefix,
    family: 6,
    origin: e.flags & IFA_F_PERMANENT ? AddressOrigin.STATIC : AddressOrigin.DYNAMIC,
  }));
  const nic: NicContent = {
    name: n.name,
    mac: clean(n.address)?.toLowerCase() ?? '',
    pciAddress: n.pciAddress ?? '',
    linkState: LINK_STATES[clean(n.operstate) ?? ''] ?? LinkState.UNSPECIFIED,
    speedMbps: n.speed !== undefined && n.speed > 0 ? n.speed : 0,
    mtu: n.mtu ?? 0,
    addresses: [...v4, ...v6].sort(
      (a, b) => a.family - b.family || a.address.localeCompare(b.address) || a.prefixLength - b.prefixLength,
    ),
    physfnPciAddress: n.physfn ?? '',
  };
  if (n.sriovTotalVfs) {
    nic.sriov = {
      totalVfs: n.sriovTotalVfs,
      numVfs: n.sriovNumVfs ?? 0,
      vfPciAddresses: [...(n.vfPciAddresses ?? [])].sort(),
    };
  }
  return nic;
}

const hex4 = (text: string | undefined) =>
  (clean(text) ?? '').toLowerCase().replace(/^0x/, '').padStart(4, '0');

function normalizeGpu(p: RawPci): GpuContent {
  const vendorId = hex4(p.vendor);
  return {
    pciAddress: p.address,
    vendorId,
    deviceId: hex4(p.device),
    vendor: p.vendorName ?? PCI_VENDORS[vendorId] ?? '',
    product: p.deviceName ?? '',
  };
}

function normalizeUsb(u: RawUsb): UsbContent | undefined {
  const bus = intOf(u.busnum);
  const address = intOf(u.devnum);
  if (bus === undefined || address === undefined) return undefined;
  return {
    bus,
    address,
    vendorId: hex4(u.idVendor),
    productId: hex4(u.idProduct),
    deviceClass: (clean(u.bDeviceClass) ?? '').toLowerCase(),
    manufacturer: clean(u.manufacturer) ?? '',
    product: clean(u.product) ?? '',
    serial: clean(u.serial) ?? '',
  };
}
