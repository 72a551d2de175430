import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMachineId, parseProductUuid } from './device.js';
import { LinuxDevice } from './linux.device.js';
import { SimulatedDevice } from './simulated.device.js';

describe('identity facts', () => {
  it.each([
    ['0123456789abcdef0123456789abcdef\n', '0123456789abcdef0123456789abcdef'],
    ['0123456789ABCDEF0123456789ABCDEF', '0123456789abcdef0123456789abcdef'],
    ['00000000000000000000000000000000', undefined],
    ['uninitialized', undefined],
    ['', undefined],
  ])('machine-id %p -> %p', (text, want) => expect(parseMachineId(text)).toBe(want));

  it.each([
    ['4c4c4544-0042-3510-8051-b4c04f384e32\n', '4c4c4544-0042-3510-8051-b4c04f384e32'],
    ['03000200-0400-0500-0006-000700080009', undefined],
    ['00000000-0000-0000-0000-000000000000', undefined],
    ['Not Settable', undefined],
  ])('product uuid %p -> %p', (text, want) => expect(parseProductUuid(text)).toBe(want));

  it('reads this machine through /proc and /etc', async () => {
    const device = new LinuxDevice();
    const facts = await device.identityFacts();
    const machineId = await readFile('/etc/machine-id', 'utf8').catch(() => undefined);
    expect(facts.machineId).toBe(parseMachineId(machineId));
    expect(facts.hostname.length).toBeGreaterThan(0);
    expect(await device.hostUptimeSeconds()).toBeGreaterThan(0);
  });

  it('keeps a simulated device stable across opens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-sim-'));
    try {
      const first = await (await SimulatedDevice.open(dir)).identityFacts();
      const again = await (await SimulatedDevice.open(dir)).identityFacts();
      expect(first.machineId).toMatch(/^[0-9a-f]{32}$/);
      expect(again).toEqual(first);
      await writeFile(join(dir, 'etc/machine-id'), 'garbage');
      expect((await (await SimulatedDevice.open(dir)).identityFacts()).machineId).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
