/**
 * sfdisk lives in /usr/sbin on Debian, which a non-root PATH, a test's bare PATH or an installed
 * bundle's leaves out: the device layer finds it anyway, and the simulator makes and reads its real
 * GPT image under such a PATH.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedDevice } from '../simulated.device.js';
import { systemTool } from './system-tool.js';

describe('systemTool', () => {
  const path = process.env.PATH;
  const dirs: string[] = [];
  afterAll(async () => {
    process.env.PATH = path;
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('finds sfdisk in an sbin directory when PATH has none', () => {
    expect(systemTool('sfdisk', '/usr/bin:/bin')).toMatch(/^\/(usr\/)?(local\/)?sbin\/sfdisk$/);
    expect(systemTool('sfdisk', '')).toMatch(/^\/(usr\/)?(local\/)?sbin\/sfdisk$/);
  });

  it('takes PATH first, and leaves a tool that is nowhere as its bare name', () => {
    expect(systemTool('sh', '/bin')).toBe('/bin/sh');
    expect(systemTool('no-such-tool-outpost', '/usr/bin')).toBe('no-such-tool-outpost');
  });

  it('lets the simulator make and read its GPT disk image under a PATH without sbin', async () => {
    process.env.PATH = '/usr/bin:/bin';
    const dir = await mkdtemp(join(tmpdir(), 'outpost-sbin-'));
    dirs.push(dir);
    const layout = await (await SimulatedDevice.open(dir)).slots();
    expect(layout.all.map((s) => s.slot)).toEqual(['a', 'b']);
    expect(layout.active.slot).toBe('a');
  });
});
