/** The kernel text parsers, table-driven. */
import { describe, expect, it } from '@jest/globals';
import {
  compressIpv6,
  lookupPciIds,
  parseCpuList,
  parseIfInet6,
  parseMeminfo,
  parseOsRelease,
  parseUdevData,
  parseUdevMonitorLine,
} from './parse.js';

describe('parsers', () => {
  it.each([
    ['00000000000000000000000000000001', '::1'],
    ['fe8000000000000000fc00fffe000001', 'fe80::fc:ff:fe00:1'],
    ['fd000000000000000000000000000002', 'fd00::2'],
    ['20010db8000000010000000000000000', '2001:db8:0:1::'],
    ['20010db8000100000001000000000001', '2001:db8:1:0:1::1'],
    ['20010db8aaaabbbbccccddddeeeeffff', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
    ['00000000000000000000000000000000', '::'],
  ])('compresses %s to %s', (hex, text) => {
    expect(compressIpv6(hex)).toBe(text);
  });

  it.each([
    ['0-3', [0, 1, 2, 3]],
    ['0-1,8,10-11\n', [0, 1, 8, 10, 11]],
    ['', []],
    [undefined, []],
  ])('reads the cpu list %j', (text, cpus) => {
    expect(parseCpuList(text)).toEqual(cpus);
  });

  it('reads /proc/net/if_inet6 with prefix and flags', () => {
    expect(parseIfInet6('fe8000000000000000fc00fffe000001 04 40 20 80     eth0\nbad line\n')).toEqual([
      { iface: 'eth0', address: 'fe80::fc:ff:fe00:1', prefix: 64, flags: 0x80 },
    ]);
  });

  it('reads meminfo in bytes', () => {
    expect(parseMeminfo('MemTotal:       16303460 kB\nHugePages_Total:       0\n')).toEqual({
      MemTotal: 16303460 * 1024,
      HugePages_Total: 0,
    });
  });

  it('reads os-release with quotes and escapes', () => {
    expect(parseOsRelease('ID=debian\nPRETTY_NAME="Debian \\"x\\" 12"\nVERSION_ID=\'12\'\n# c\n')).toEqual({
      ID: 'debian',
      PRETTY_NAME: 'Debian "x" 12',
      VERSION_ID: '12',
    });
  });

  it('reads udev properties', () => {
    expect(parseUdevData('S:disk/by-id/x\nE:ID_SERIAL_SHORT=ABC\nE:ID_WWN=0x5000\nG:systemd\n')).toEqual({
      ID_SERIAL_SHORT: 'ABC',
      ID_WWN: '0x5000',
    });
  });

  it.each([
    [
      'UDEV  [12345.678901] add      /devices/pci0000:00/0000:00:14.0/usb1/1-2 (usb)',
      {
        source: 'UDEV',
        action: 'add',
        devpath: '/devices/pci0000:00/0000:00:14.0/usb1/1-2',
        subsystem: 'usb',
      },
    ],
    [
      'KERNEL[12345.6] remove   /devices/virtual/block/loop0 (block)',
      { source: 'KERNEL', action: 'remove', devpath: '/devices/virtual/block/loop0', subsystem: 'block' },
    ],
    ['monitor will print the received events for:', undefined],
    ['', undefined],
  ])('reads the udevadm monitor line %j', (line, event) => {
    expect(parseUdevMonitorLine(line)).toEqual(event);
  });

  it('looks names up in pci.ids', () => {
    const ids =
      '# comment\n8086  Intel Corporation\n\t46a6  Alder Lake-P GT2 [Iris Xe Graphics]\n\t\t1028 0b19  sub\n10de  NVIDIA Corporation\n\t46a6  Not this one\n';
    expect(lookupPciIds(ids, '8086', '46a6')).toEqual({
      vendor: 'Intel Corporation',
      device: 'Alder Lake-P GT2 [Iris Xe Graphics]',
    });
    expect(lookupPciIds(ids, '10de', '2684')).toEqual({ vendor: 'NVIDIA Corporation', device: undefined });
    expect(lookupPciIds(ids, '1002', '73bf')).toEqual({});
  });
});
