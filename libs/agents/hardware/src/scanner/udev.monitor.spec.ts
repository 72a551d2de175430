/** The udev monitor with a missing udevadm (as on this machine) and with a stand-in that prints events. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@outpost/testing';
import type { UdevEvent } from '../domain/parse.js';
import { UdevMonitor } from './udev.monitor.js';

describe('UdevMonitor', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-udev-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says so when udevadm is not installed', async () => {
    const m = new UdevMonitor(join(dir, 'no-such-udevadm'), {
      onEvent: () => undefined,
      onGone: () => undefined,
    });
    await expect(m.start()).resolves.toEqual({ running: false, reason: expect.stringMatching(/not found/) });
  });

  it('says so when disabled', async () => {
    const m = new UdevMonitor('', { onEvent: () => undefined, onGone: () => undefined });
    await expect(m.start()).resolves.toEqual({ running: false, reason: 'udevadm disabled by configuration' });
  });

  it('delivers UDEV events with the subsystems asked for, and reports a monitor that dies', async () => {
    const fake = join(dir, 'udevadm');
    await writeFile(
      fake,
      [
        '#!/bin/sh',
        `echo "$@" > ${join(dir, 'args')}`,
        'echo "monitor will print the received events for:"',
        'echo "KERNEL[100.000001] add      /devices/pci0000:00/0000:00:14.0/usb1/1-2 (usb)"',
        'echo "UDEV  [100.000200] add      /devices/pci0000:00/0000:00:14.0/usb1/1-2 (usb)"',
        'echo "UDEV  [100.000300] add      /devices/virtual/block/sdz (block)"',
        'exit 3',
      ].join('\n'),
    );
    await chmod(fake, 0o755);
    const events: UdevEvent[] = [];
    const gone: string[] = [];
    const m = new UdevMonitor(fake, {
      onEvent: (e) => void events.push(e),
      onGone: (r) => void gone.push(r),
    });
    await expect(m.start()).resolves.toEqual({ running: true });
    await eventually(() => {
      expect(gone).toEqual([expect.stringMatching(/exited \(code 3\)/)]);
      expect(events.map((e) => `${e.action} ${e.subsystem}`)).toEqual(['add usb', 'add block']);
    });
    expect((await readFile(join(dir, 'args'), 'utf8')).trim()).toBe(
      'monitor --udev --subsystem-match=block --subsystem-match=net --subsystem-match=usb',
    );
    m.stop();
  });
});
