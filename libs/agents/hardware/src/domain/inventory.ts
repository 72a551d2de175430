/**
 * The inventory's content as plain data: the fields of outpost.hardware.v1.Inventory that describe
 * hardware (not node id, scan time, hash or problems). Diffing and hashing work on this shape; byte
 * counts are numbers here (exact up to 2^53, i.e. 8 PiB) and become uint64 only on the wire.
 */
import type { AddressOrigin, CpuCoreType, LinkState } from '@outpost/contracts';

export interface SystemContent {
  vendor: string;
  product: string;
  serial: string;
  uuid: string;
}

export interface BiosContent {
  vendor: string;
  version: string;
  date: string;
}

export interface LogicalCpuContent {
  cpu: number;
  packageId: number;
  coreId: number;
  maxMhz: number;
  coreType: CpuCoreType;
}

export interface CpuContent {
  vendor: string;
  model: string;
  arch: string;
  sockets: number;
  cores: number;
  threads: number;
  flags: string[];
  logicalCpus: LogicalCpuContent[];
  performanceCores: number;
  efficiencyCores: number;
}

export interface MemoryModuleContent {
  locator: string;
  sizeBytes: number;
  type: string;
  speedMts: number;
  manufacturer: string;
  partNumber: string;
  serial: string;
}

export interface MemoryContent {
  totalBytes: number;
  modules: MemoryModuleContent[];
}

export interface DiskContent {
  name: string;
  model: string;
  vendor: string;
  serial: string;
  wwn: string;
  sizeBytes: number;
  rotational: boolean;
  removable: boolean;
}

export interface IpAddressContent {
  address: string;
  prefixLength: number;
  family: number;
  origin: AddressOrigin;
}

export interface SriovContent {
  totalVfs: number;
  numVfs: number;
  vfPciAddresses: string[];
}

export interface NicContent {
  name: string;
  mac: string;
  pciAddress: string;
  linkState: LinkState;
  speedMbps: number;
  mtu: number;
  addresses: IpAddressContent[];
  sriov?: SriovContent;
  physfnPciAddress: string;
}

export interface GpuContent {
  pciAddress: string;
  vendorId: string;
  deviceId: string;
  vendor: string;
  product: string;
}

export interface UsbContent {
  bus: number;
  address: number;
  vendorId: string;
  productId: string;
  deviceClass: string;
  manufacturer: string;
  product: string;
  serial: string;
}

export interface OsContent {
  kernel: string;
  id: string;
  versionId: string;
  prettyName: string;
}

export interface InventoryContent {
  system: SystemContent;
  bios: BiosContent;
  cpu: CpuContent;
  memory: MemoryContent;
  disks: DiskContent[];
  nics: NicContent[];
  gpus: GpuContent[];
  usbDevices: UsbContent[];
  os: OsContent;
}

export interface ProblemContent {
  component: string;
  message: string;
  optional: boolean;
}
