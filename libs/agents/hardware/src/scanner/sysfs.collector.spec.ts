/**
 * The collector on this machine's real /proc and /sys, checked against what lscpu, lsblk and ip
 * report; and on a copied tree with holes in it, where a part that cannot be read is a problem and
 * the rest still goes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AddressOrigin } from '@outpost/contracts';
import { must } from '../../fixtures/load-fixture.js';
import { scanFacts, scanOnce } from './scan.js';
import { collectHostFacts, pciAddressOf } from './sysfs.collector.js';

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

describe('scan of this machine against lscpu, lsblk and ip', () => {
  let result: Awaited<ReturnType<typeof scanOnce>>;

  beforeAll(async () => {
    result = await scanOnce();
  });

  it('has the CPU model and thread count lscpu reports', () => {
    const fields = new Map(
      (JSON.parse(run('lscpu', ['-J'])) as { lscpu: { field: string; data: string }[] }).lscpu.map((f) => [
        f.field.replace(/:$/, ''),
        f.data,
      ]),
    );
    expect(result.content.cpu.model).toBe(fields.get('Model name'));
    expect(result.content.cpu.threads).toBe(Number(fields.get('CPU(s)')));
    expect(result.content.cpu.sockets).toBe(Number(fields.get('Socket(s)')));
    expect(result.content.cpu.cores).toBe(
      Number(fields.get('Core(s) per socket')) * Number(fields.get('Socket(s)')),
    );
    expect(result.content.cpu.arch).toBe(fields.get('Architecture'));
  });

  it('has the disks lsblk reports (physical ones), with their sizes', () => {
    const lsblk = JSON.parse(run('lsblk', ['-J', '-b', '-d', '-o', 'NAME,SIZE,TYPE,ROTA,RM'])) as {
      blockdevices: { name: string; size: number; type: string; rota: boolean; rm: boolean }[];
    };
    // lsblk lists zram and loop devices too; the inventory keeps what has hardware behind it.
    const physical = lsblk.blockdevices.filter(
      (d) => d.type === 'disk' && !realpathSync(`/sys/block/${d.name}`).includes('/devices/virtual/'),
    );
    expect(physical.length).toBeGreaterThan(0);
    expect(result.content.disks.map((d) => [d.name, d.sizeBytes, d.rotational, d.removable])).toEqual(
      physical
        .map((d) => [d.name, Number(d.size), d.rota, d.rm])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
  });

  it('has the interfaces, MACs and addresses ip reports (virtual interfaces skipped)', () => {
    const ip = JSON.parse(run('ip', ['-j', 'addr'])) as {
      ifname: string;
      address: string;
      mtu: number;
      addr_info: { family: string; local: string; prefixlen: number; dynamic?: boolean }[];
    }[];
    const physical = ip.filter(
      (i) => !realpathSync(`/sys/class/net/${i.ifname}`).includes('/devices/virtual/'),
    );
    expect(physical.length).toBeGreaterThan(0);
    expect(result.content.nics.map((n) => n.name)).toEqual(physical.map((i) => i.ifname).sort());
    for (const i of physical) {
      const nic = must(
        result.content.nics.find((n) => n.name === i.ifname),
        i.ifname,
      );
      expect(nic.mac).toBe(i.address);
      expect(nic.mtu).toBe(i.mtu);
      expect(nic.addresses.map((a) => `${a.address}/${a.prefixLength}`).sort()).toEqual(
        i.addr_info.map((a) => `${a.local}/${a.prefixlen}`).sort(),
      );
      // ip marks leased IPv6 addresses "dynamic"; the inventory must agree for every IPv6 address.
      for (const a of i.addr_info.filter((x) => x.family === 'inet6')) {
        const ours = must(
          nic.addresses.find((x) => x.address === a.local),
          a.local,
        );
        expect(ours.origin === AddressOrigin.DYNAMIC).toBe(a.dynamic === true);
      }
    }
  });

  it('has the kernel uname reports and os-release', () => {
    expect(result.content.os.kernel).toBe(run('uname', ['-r']).trim());
    expect(result.content.os.id).toMatch(/^[a-z0-9._-]+$/);
  });

  it('answers the same hash for a rescan of an unchanged machine', async () => {
    expect((await scanOnce()).hash).toBe(result.hash);
  });

  it('reports what it could not read as problems', () => {
    const dmi = existsSync('/sys/class/dmi/id');
    if (!dmi) expect(result.problems.map((p) => p.component)).toContain('system');
    expect(result.problems.every((p) => p.optional)).toBe(true);
  });
});

describe('collector on a copied tree', () => {
  let root: string;
  const file = async (rel: string, text: string) => {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'outpost-hw-root-'));
    // /proc/cpuinfo that cannot be read (a directory where a file belongs: EISDIR even for root).
    await mkdir(join(root, 'proc/cpuinfo'), { recursive: true });
    await file('proc/meminfo', 'MemTotal:        2048000 kB\n');
    await file('proc/sys/kernel/osrelease', '6.6.0-test\n');
    await file('etc/os-release', 'ID=alpine\nVERSION_ID=3.20.0\n');
    await file('sys/class/dmi/id/sys_vendor', 'Protectli\n');
    await file('sys/class/dmi/id/product_name', 'VP2420\n');
    await file('creds/product_serial', 'PRT-123\n');
    await mkdir(join(root, 'sys/class/dmi/id/product_serial'), { recursive: true });
    await file('sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/enp1s0/address', '64:62:66:22:33:44\n');
    await file('sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/enp1s0/operstate', 'up\n');
    await file('sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/enp1s0/speed', '2500\n');
    await file('sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/enp1s0/mtu', '1500\n');
    await mkdir(join(root, 'sys/devices/virtual/net/br0'), { recursive: true });
    await mkdir(join(root, 'sys/class/net'), { recursive: true });
    await symlink(
      '../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/enp1s0',
      join(root, 'sys/class/net/enp1s0'),
    );
    await symlink('../../devices/virtual/net/br0', join(root, 'sys/class/net/br0'));
    await file(
      'sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/size',
      '1953525168\n',
    );
    await file(
      'sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/queue/rotational',
      '0\n',
    );
    await file('sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/dev', '8:0\n');
    await file('run/udev/data/b8:0', 'E:ID_SERIAL_SHORT=S5XYZ\nE:ID_WWN=0x5002538e00000001\n');
    await mkdir(join(root, 'sys/block'), { recursive: true });
    await symlink(
      '../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda',
      join(root, 'sys/block/sda'),
    );
    await file('sys/bus/usb/devices/1-1/busnum', '1\n');
    await file('sys/bus/usb/devices/1-1/devnum', '2\n');
    await file('sys/bus/usb/devices/1-1/idVendor', '1a86\n');
    await file('sys/bus/usb/devices/1-1/idProduct', '7523\n');
    await mkdir(join(root, 'sys/bus/usb/devices/1-1:1.0'), { recursive: true });
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads what it can and lists the rest as problems', async () => {
    const facts = await collectHostFacts({ root, dmiFallbackDir: join(root, 'creds') });
    const result = scanFacts(facts);
    expect(result.problems).toEqual([
      { component: 'cpu', message: expect.stringMatching(/\/proc\/cpuinfo: EISDIR/), optional: false },
    ]);
    expect(result.content.system).toMatchObject({
      vendor: 'Protectli',
      product: 'VP2420',
      serial: 'PRT-123',
    });
    expect(result.content.memory.totalBytes).toBe(2048000 * 1024);
    expect(result.content.os).toMatchObject({ kernel: '6.6.0-test', id: 'alpine', versionId: '3.20.0' });
    expect(result.content.nics).toEqual([
      expect.objectContaining({
        name: 'enp1s0',
        mac: '64:62:66:22:33:44',
        pciAddress: '0000:01:00.0',
        speedMbps: 2500,
      }),
    ]);
    expect(result.content.disks).toEqual([
      expect.objectContaining({
        name: 'sda',
        sizeBytes: 1953525168 * 512,
        serial: 'S5XYZ',
        wwn: '0x5002538e00000001',
      }),
    ]);
    expect(result.content.usbDevices).toEqual([
      expect.objectContaining({ bus: 1, address: 2, vendorId: '1a86', productId: '7523' }),
    ]);
  });

  it.each([
    ['/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0', '0000:00:03.0'],
    ['/sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.1/net/enp3s0f1', '0000:03:00.1'],
    ['/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/net/enx001122334455', undefined],
    ['/sys/devices/platform/soc/fe300000.mmcnr/net/wlan0', undefined],
  ])('finds the PCI address behind %s', (path, address) => {
    expect(pciAddressOf(path)).toBe(address);
  });
});
