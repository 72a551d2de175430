/** The hardware agent's settings: <configDir>/hardware.json or OUTPOST_HARDWARE_* variables. */
import type { SettingsSpec } from '@outpost/agent-runtime';

export const hardwareSettings = {
  scanIntervalMs: {
    kind: 'int',
    default: 60_000,
    min: 1_000,
    max: 86_400_000,
    unit: 'ms',
    description:
      'how often the hardware is rescanned (the only trigger where udevadm monitor is unavailable); a scan publishes only when something changed',
  },
  debounceMs: {
    kind: 'int',
    default: 2_000,
    min: 10,
    max: 60_000,
    unit: 'ms',
    description:
      'quiet time after a udev block/net/usb event before scanning (a burst of events gives one scan; at most 5x this after the first)',
  },
  root: {
    kind: 'string',
    default: '/',
    pattern: /^\//,
    description: 'root of the tree /proc, /sys, /etc and /run/udev are read under (a copied tree for tests)',
  },
  udevadm: {
    kind: 'string',
    default: 'udevadm',
    description:
      'the udevadm command run as `udevadm monitor` for hardware events; empty disables it (interval scans only)',
  },
  dmiFallbackDir: {
    kind: 'string',
    default: '',
    description:
      'directory holding copies of root-only DMI files (product_serial, product_uuid); the unit points it at its credentials',
  },
} as const satisfies SettingsSpec;
