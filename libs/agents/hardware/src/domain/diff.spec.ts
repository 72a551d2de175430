/** Inventory diffs and hashes over recorded machines with one hardware change each. */
import { describe, expect, it } from '@jest/globals';
import { ChangeType, ComponentKind } from '@outpost/contracts';
import { FIXTURES, loadFixture, must, type FixtureName } from '../../fixtures/load-fixture.js';
import { canonicalJson, contentHash, diffInventories } from './diff.js';
import { normalize } from './normalize.js';
import type { RawFacts } from './raw-facts.js';

const contentOf = (raw: RawFacts) => normalize(raw).content;
const summary = (name: FixtureName, edit: (raw: RawFacts) => void) => {
  const before = contentOf(loadFixture(name));
  const raw = loadFixture(name);
  edit(raw);
  const after = contentOf(raw);
  return {
    changed: contentHash(before) !== contentHash(after),
    changes: diffInventories(before, after).map((c) => ({
      kind: ComponentKind[c.kind],
      key: c.key,
      change: ChangeType[c.change],
      fields: c.fields.map((f) => f.field),
    })),
  };
};

describe('diffInventories', () => {
  it.each([
    [
      'a disk removed',
      'multi-socket-server' as const,
      (r: RawFacts) => void (r.blocks = must(r.blocks).filter((b) => b.name !== 'sdb')),
      [{ kind: 'DISK', key: 'sdb', change: 'REMOVED', fields: [] }],
    ],
    [
      'a disk replaced by a bigger one under the same name',
      'multi-socket-server' as const,
      (r: RawFacts) => {
        const sdb = must(must(r.blocks).find((b) => b.name === 'sdb'));
        sdb.sectors = 31251759104;
        sdb.udevData = 'E:ID_SERIAL_SHORT=ZR5NEWSN\nE:ID_WWN=0x5000c500eeeeeeee\n';
      },
      [{ kind: 'DISK', key: 'sdb', change: 'CHANGED', fields: ['serial', 'sizeBytes', 'wwn'] }],
    ],
    [
      'a USB device plugged in',
      'sriov-edge-box' as const,
      (r: RawFacts) =>
        must(r.usb).push({
          name: '1-3',
          busnum: '1\n',
          devnum: '7\n',
          idVendor: '0781\n',
          idProduct: '5583\n',
          bDeviceClass: '00\n',
        }),
      [{ kind: 'USB', key: '1-7', change: 'ADDED', fields: [] }],
    ],
    [
      'SR-IOV VFs enabled on the second port (new VF NICs appear)',
      'sriov-edge-box' as const,
      (r: RawFacts) => {
        const pf = must(must(r.nets).find((n) => n.name === 'enp3s0f1'));
        pf.sriovNumVfs = 1;
        pf.vfPciAddresses = ['0000:03:0a.0'];
        must(r.nets).push({
          name: 'enp3s10f0',
          virtual: false,
          address: '5a:1e:c0:00:01:00\n',
          operstate: 'up\n',
          pciAddress: '0000:03:0a.0',
          physfn: '0000:03:00.1',
        });
      },
      [
        { kind: 'NIC', key: 'enp3s0f1', change: 'CHANGED', fields: ['sriov'] },
        { kind: 'NIC', key: 'enp3s10f0', change: 'ADDED', fields: [] },
      ],
    ],
    [
      'a NIC link going up with a new DHCP address',
      'hybrid-laptop' as const,
      (r: RawFacts) => {
        const wifi = must(must(r.nets)[0]);
        wifi.ipv4 = ['10.0.0.23/24'];
      },
      [{ kind: 'NIC', key: 'wlp0s20f3', change: 'CHANGED', fields: ['addresses'] }],
    ],
    [
      'a GPU added and a BIOS update',
      'hybrid-laptop' as const,
      (r: RawFacts) => {
        must(r.pci).push({
          address: '0000:01:00.0',
          vendor: '0x10de\n',
          device: '0x25a2\n',
          class: '0x030200\n',
        });
        must(r.dmi)['bios_version'] = 'N3MET19W (1.18 )\n';
      },
      [
        { kind: 'BIOS', key: 'bios', change: 'CHANGED', fields: ['version'] },
        { kind: 'GPU', key: '0000:01:00.0', change: 'ADDED', fields: [] },
      ],
    ],
    [
      'a memory module pulled (total and modules change)',
      'multi-socket-server' as const,
      (r: RawFacts) => {
        must(r.memoryModules).pop();
        r.meminfo = 'MemTotal:       163128068 kB\n';
      },
      [{ kind: 'MEMORY', key: 'memory', change: 'CHANGED', fields: ['modules', 'totalBytes'] }],
    ],
  ])('%s', (_what, fixture, edit, expected) => {
    expect(summary(fixture, edit)).toEqual({ changed: true, changes: expected });
  });

  it.each(FIXTURES)('finds nothing, and the same hash, for an unchanged %s', (name) => {
    const a = contentOf(loadFixture(name));
    const b = contentOf(loadFixture(name));
    expect(diffInventories(a, b)).toEqual([]);
    expect(contentHash(a)).toBe(contentHash(b));
  });

  it.each(FIXTURES)('ignores the order %s lists devices in, and what is not hardware', (name) => {
    const raw = loadFixture(name);
    raw.blocks?.reverse();
    raw.nets?.reverse();
    raw.usb?.reverse();
    raw.cpus?.reverse();
    raw.problems = [{ component: 'udev', message: 'udevadm not found', optional: true }];
    expect(contentHash(contentOf(raw))).toBe(contentHash(contentOf(loadFixture(name))));
  });

  it('reports every component ADDED on a first scan', () => {
    const changes = diffInventories(undefined, contentOf(loadFixture('sriov-edge-box')));
    expect(changes.every((c) => c.change === ChangeType.ADDED)).toBe(true);
    expect(changes.filter((c) => c.kind === ComponentKind.NIC)).toHaveLength(6);
    expect(changes.filter((c) => c.kind === ComponentKind.USB).map((c) => c.key)).toEqual([
      '1-1',
      '1-2',
      '1-3',
    ]);
  });

  it('carries before and after as JSON text', () => {
    const before = contentOf(loadFixture('hybrid-laptop'));
    const raw = loadFixture('hybrid-laptop');
    must(must(raw.nets)[0]).mtu = 9000;
    const [change] = diffInventories(before, contentOf(raw));
    expect(change?.fields).toEqual([{ field: 'mtu', before: '1500', after: '9000' }]);
  });

  it('hashes canonically (key order does not matter)', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 2 }], c: 3 } })).toBe(
      '{"a":{"c":3,"d":[2,{"x":2,"y":1}]},"b":1}',
    );
  });
});
