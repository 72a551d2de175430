/**
 * Raw facts: what a scan read from /proc, /sys, udev's database and the OS, before any
 * interpretation. Collectors fill it (the real host, the simulator's inventory.json, test fixtures);
 * the pure functions of normalize.ts turn it into the inventory contract. Texts are kept as read
 * (sysfs values with their trailing newline), so a fixture is a faithful recording of a machine.
 */

export interface RawCpu {
  /** Logical CPU number (cpuN). */
  cpu: number;
  /** topology/physical_package_id */
  packageId?: number;
  /** topology/core_id */
  coreId?: number;
  /** cpufreq/cpuinfo_max_freq, kHz. */
  maxKHz?: number;
  /** cpu_capacity (arm64, and x86 with ITMT): relative compute capacity, 1024 the largest. */
  capacity?: number;
}

export interface RawBlock {
  name: string;
  /** Under /sys/devices/virtual (loop, zram, dm, md): no hardware behind it. */
  virtual: boolean;
  /** size, in 512-byte sectors. */
  sectors?: number;
  rotational?: boolean;
  removable?: boolean;
  /** device/model, device/vendor, device/serial, device/wwid as read. */
  model?: string;
  vendor?: string;
  serial?: string;
  wwid?: string;
  /** udev's database entry (/run/udev/data/b<major>:<minor>), as read. */
  udevData?: string;
}

export interface RawNet {
  name: string;
  /** Under /sys/devices/virtual/net (lo, bridges, veth, bonds, tunnels). */
  virtual: boolean;
  address?: string;
  operstate?: string;
  /** speed (Mbit/s; -1 or unreadable when down). */
  speed?: number;
  mtu?: number;
  /** PCI address of the device behind the interface, if it sits on PCI. */
  pciAddress?: string;
  sriovTotalVfs?: number;
  sriovNumVfs?: number;
  vfPciAddresses?: string[];
  /** PCI address of the physical function, when this interface is an SR-IOV virtual function. */
  physfn?: string;
  /** IPv4 addresses (os.networkInterfaces), "a.b.c.d/prefix". */
  ipv4?: string[];
  /** Whether a DHCP client manages the link (systeminformation); undefined when unknown. */
  dhcp?: boolean;
}

export interface RawPci {
  /** 0000:00:02.0 */
  address: string;
  /** vendor, device, class files as read ("0x8086\n", "0x030000\n"). */
  vendor: string;
  device: string;
  class: string;
  /** Names resolved from pci.ids by the collector, where the file exists. */
  vendorName?: string;
  deviceName?: string;
}

export interface RawUsb {
  /** sysfs name (1-1.2, usb1). */
  name: string;
  busnum?: string;
  devnum?: string;
  idVendor?: string;
  idProduct?: string;
  bDeviceClass?: string;
  manufacturer?: string;
  product?: string;
  serial?: string;
}

export interface RawMemoryModule {
  locator: string;
  sizeBytes: number;
  type?: string;
  speedMts?: number;
  manufacturer?: string;
  partNumber?: string;
  serial?: string;
}

export interface RawProblem {
  component: string;
  message: string;
  optional: boolean;
}

export interface RawFacts {
  /** /proc/cpuinfo */
  cpuinfo?: string;
  /** /proc/meminfo */
  meminfo?: string;
  /** /etc/os-release (or /usr/lib/os-release) */
  osRelease?: string;
  /** /proc/sys/kernel/osrelease */
  kernelRelease?: string;
  /** uname -m style machine name. */
  arch?: string;
  /** /sys/class/dmi/id/<file> as read, for the files that were readable. */
  dmi?: Record<string, string>;
  /** /proc/device-tree/{model,serial-number} on boards without DMI. */
  deviceTree?: { model?: string; serialNumber?: string };
  cpus?: RawCpu[];
  /** Intel hybrid CPUs: /sys/devices/cpu_core/cpus and cpu_atom/cpus, as read ("0-15\n"). */
  hybrid?: { core?: string; atom?: string };
  blocks?: RawBlock[];
  nets?: RawNet[];
  /** /proc/net/if_inet6 */
  ifInet6?: string;
  pci?: RawPci[];
  usb?: RawUsb[];
  memoryModules?: RawMemoryModule[];
  /** What the collector could not read. */
  problems?: RawProblem[];
}
