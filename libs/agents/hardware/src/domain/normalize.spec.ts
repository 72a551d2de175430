/** Normalization of recorded machines: what each fixture must come out as. */
import { describe, expect, it } from '@jest/globals';
import { AddressOrigin, CpuCoreType, LinkState } from '@outpost/contracts';
import { loadFixture, must } from '../../fixtures/load-fixture.js';
import { dmiValue, normalize } from './normalize.js';
import type { RawFacts } from './raw-facts.js';

describe('normalize: multi-socket server', () => {
  const { content, problems } = normalize(loadFixture('multi-socket-server'));

  it('counts sockets, cores and threads from the topology', () => {
    expect(content.cpu).toMatchObject({
      vendor: 'GenuineIntel',
      model: 'Intel(R) Xeon(R) Silver 4208 CPU @ 2.10GHz',
      arch: 'x86_64',
      sockets: 2,
      cores: 16,
      threads: 32,
      performanceCores: 0,
      efficiencyCores: 0,
    });
    expect(content.cpu.flags).toContain('avx512f');
    expect(content.cpu.logicalCpus.every((c) => c.maxMhz === 3200)).toBe(true);
  });

  it('reads system, BIOS and memory modules', () => {
    expect(content.system).toEqual({
      vendor: 'Dell Inc.',
      product: 'PowerEdge R540',
      serial: '7XK2Q63',
      uuid: '4c4c4544-0058-4b10-8032-b7c04f513633',
    });
    expect(content.bios).toEqual({ vendor: 'Dell Inc.', version: '2.19.1', date: '08/22/2023' });
    expect(content.memory.totalBytes).toBe(196682500 * 1024);
    expect(content.memory.modules).toHaveLength(6);
    expect(problems).toEqual([]);
  });

  it('keeps physical disks only, with udev serials and WWNs', () => {
    expect(content.disks.map((d) => d.name)).toEqual(['nvme0n1', 'sda', 'sdb']);
    expect(content.disks.find((d) => d.name === 'sdb')).toEqual({
      name: 'sdb',
      model: 'ST8000NM000A-2KE',
      vendor: 'ATA',
      serial: 'WKD3ABCD',
      wwn: '0x5000c500d1a2b3c4',
      sizeBytes: 15628053168 * 512,
      rotational: true,
      removable: false,
    });
    expect(content.disks.find((d) => d.name === 'nvme0n1')?.wwn).toBe('eui.01000000000000005cd2e4a1b2c34d51');
  });

  it('skips virtual NICs and marks address origins', () => {
    expect(content.nics.map((n) => n.name)).toEqual(['eno1', 'eno2', 'idrac']);
    const eno1 = must(content.nics[0]);
    expect(eno1).toMatchObject({
      mac: 'd0:94:66:1a:2b:3c',
      linkState: LinkState.UP,
      speedMbps: 10000,
      mtu: 9000,
    });
    expect(eno1.addresses).toEqual([
      { address: '10.20.0.11', prefixLength: 24, family: 4, origin: AddressOrigin.STATIC },
      { address: '2001:db8:a::11', prefixLength: 64, family: 6, origin: AddressOrigin.STATIC },
      { address: 'fe80::d294:66ff:fe1a:2b3c', prefixLength: 64, family: 6, origin: AddressOrigin.STATIC },
    ]);
    expect(content.nics[1]).toMatchObject({ linkState: LinkState.DOWN, speedMbps: 0 });
    expect(content.nics[2]?.addresses[0]?.origin).toBe(AddressOrigin.DYNAMIC);
  });

  it('names the BMC GPU from pci.ids', () => {
    expect(content.gpus).toEqual([
      {
        pciAddress: '0000:03:00.0',
        vendorId: '102b',
        deviceId: '0536',
        vendor: 'Matrox Electronics Systems Ltd.',
        product: 'Integrated Matrox G200eW3 Graphics Controller',
      },
    ]);
  });
});

describe('normalize: hybrid P/E-core laptop', () => {
  const { content, problems } = normalize(loadFixture('hybrid-laptop'));

  it('tells P-cores from E-cores, with their max MHz', () => {
    expect(content.cpu).toMatchObject({
      sockets: 1,
      cores: 12,
      threads: 16,
      performanceCores: 4,
      efficiencyCores: 8,
    });
    const p = content.cpu.logicalCpus.filter((c) => c.coreType === CpuCoreType.PERFORMANCE);
    const e = content.cpu.logicalCpus.filter((c) => c.coreType === CpuCoreType.EFFICIENCY);
    expect(p.map((c) => c.cpu)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(p.map((c) => c.maxMhz))).toEqual(new Set([4700]));
    expect(new Set(e.map((c) => c.maxMhz))).toEqual(new Set([3400]));
  });

  it('keeps a removable USB stick, drops zram, marks SLAAC addresses dynamic', () => {
    expect(content.disks.map((d) => [d.name, d.removable, d.serial])).toEqual([
      ['nvme0n1', false, 'S64KNX0T123456'],
      ['sda', true, '4C530001230918117012'],
    ]);
    const wifi = must(content.nics[0]);
    expect(wifi.pciAddress).toBe('0000:00:14.3');
    expect(wifi.addresses.map((a) => [a.address, a.origin])).toEqual([
      ['192.168.1.57', AddressOrigin.DYNAMIC],
      ['2a02:4b8::1234', AddressOrigin.DYNAMIC],
      ['fe80::a6c3:f0ff:fe11:2233', AddressOrigin.STATIC],
    ]);
    expect(content.gpus[0]).toMatchObject({
      vendorId: '8086',
      deviceId: '46a6',
      vendor: 'Intel Corporation',
    });
    expect(content.os).toEqual({
      kernel: '6.8.9-300.fc40.x86_64',
      id: 'fedora',
      versionId: '40',
      prettyName: 'Fedora Linux 40 (Workstation Edition)',
    });
    expect(problems.map((p) => [p.component, p.optional])).toEqual([['memory', true]]);
  });
});

describe('normalize: SR-IOV edge box with USB devices', () => {
  const { content } = normalize(loadFixture('sriov-edge-box'));

  it('reports SR-IOV on the physical functions and the VFs as NICs of their own', () => {
    const pf = content.nics.find((n) => n.name === 'enp3s0f0');
    expect(pf?.sriov).toEqual({
      totalVfs: 64,
      numVfs: 4,
      vfPciAddresses: ['0000:03:02.0', '0000:03:02.1', '0000:03:02.2', '0000:03:02.3'],
    });
    expect(content.nics.find((n) => n.name === 'enp3s0f1')?.sriov?.numVfs).toBe(0);
    const vfs = content.nics.filter((n) => n.physfnPciAddress === '0000:03:00.0');
    expect(vfs.map((n) => n.name)).toEqual(['enp3s2f0', 'enp3s2f1', 'enp3s2f2', 'enp3s2f3']);
    expect(vfs.every((n) => n.sriov === undefined)).toBe(true);
    expect(content.nics.some((n) => ['br0', 'lo', 'veth1a2b3c'].includes(n.name))).toBe(false);
  });

  it('lists USB devices by bus and address with ids, class and serial', () => {
    expect(content.usbDevices.map((u) => [u.bus, u.address, u.vendorId, u.productId, u.deviceClass])).toEqual(
      [
        [1, 1, '1d6b', '0002', '09'],
        [1, 2, '10c4', 'ea60', '00'],
        [1, 3, '0403', '6001', '00'],
      ],
    );
    expect(content.usbDevices[1]).toMatchObject({
      product: 'SONOFF Zigbee 3.0 USB Dongle Plus',
      serial: 'a8b2c9d0e1f2ed11bb0a1234',
    });
  });

  it('keeps a real product UUID and leaves a serial the firmware did not give empty', () => {
    expect(content.system.serial).toBe('');
    expect(content.system.uuid).toBe('00000000-0000-0000-0000-3cecef123456');
  });
});

describe('normalize: missing and placeholder values', () => {
  it.each([
    ['To Be Filled By O.E.M.', ''],
    ['Default string', ''],
    ['System Serial Number', ''],
    ['0000000', ''],
    ['  PowerEdge R540 \n', 'PowerEdge R540'],
    [undefined, ''],
  ])('DMI %j becomes %j', (raw, expected) => {
    expect(dmiValue(raw)).toBe(expected);
  });

  it('gives an empty inventory, with problems, when nothing could be read', () => {
    const raw: RawFacts = {
      problems: [{ component: 'cpu', message: '/proc/cpuinfo: EACCES', optional: false }],
    };
    const { content, problems } = normalize(raw);
    expect(content.cpu).toMatchObject({ vendor: '', model: '', threads: 0, sockets: 0 });
    expect(content.disks).toEqual([]);
    expect(problems.map((p) => p.component)).toEqual(['cpu', 'system']);
  });

  it('uses the device tree on boards without DMI, and ARM cpuinfo fields', () => {
    const raw: RawFacts = {
      cpuinfo:
        'processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\n' +
        'processor\t: 1\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\n',
      deviceTree: { model: 'Raspberry Pi 4 Model B Rev 1.4\u0000', serialNumber: '10000000a1b2c3d4\u0000' },
      cpus: [
        { cpu: 0, packageId: 0, coreId: 0, maxKHz: 1800000, capacity: 1024 },
        { cpu: 1, packageId: 0, coreId: 1, maxKHz: 1800000, capacity: 1024 },
      ],
    };
    const { content, problems } = normalize(raw);
    expect(content.system).toMatchObject({
      product: 'Raspberry Pi 4 Model B Rev 1.4',
      serial: '10000000a1b2c3d4',
    });
    expect(content.cpu).toMatchObject({
      vendor: 'ARM',
      model: 'ARM part 0xd08',
      flags: ['asimd', 'cpuid', 'crc32', 'evtstrm', 'fp'],
    });
    expect(content.cpu.logicalCpus.map((c) => c.coreType)).toEqual([
      CpuCoreType.UNSPECIFIED,
      CpuCoreType.UNSPECIFIED,
    ]);
    expect(problems).toEqual([]);
  });

  it('tells big.LITTLE cores apart by cpu_capacity', () => {
    const raw: RawFacts = {
      cpus: [
        { cpu: 0, packageId: 0, coreId: 0, maxKHz: 1800000, capacity: 381 },
        { cpu: 1, packageId: 0, coreId: 1, maxKHz: 1800000, capacity: 381 },
        { cpu: 2, packageId: 0, coreId: 2, maxKHz: 2400000, capacity: 1024 },
      ],
    };
    expect(normalize(raw).content.cpu).toMatchObject({ performanceCores: 1, efficiencyCores: 2 });
  });
});
