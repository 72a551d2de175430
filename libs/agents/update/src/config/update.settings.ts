/** The platform-update agent's settings: <configDir>/update.json or OUTPOST_UPDATE_* variables. */
import type { SettingsSpec } from '@outpost/agent-runtime';

export const updateSettings = {
  trustedKeys: {
    kind: 'list',
    default: [],
    description:
      'ed25519 public keys that may sign manifests: base64 of the 32 raw bytes, or a PEM (SPKI) block ' +
      '(comma-separated in the environment; PEMs belong in the file or in trustedKeysDir)',
  },
  trustedKeysDir: {
    kind: 'string',
    default: '',
    description:
      'a directory of trusted keys, one per file (*.pem: PEM SPKI, *.pub: base64 raw); ' +
      'empty: <configDir>/update-keys.d if it exists',
  },
  downloadAttempts: {
    kind: 'int',
    default: 6,
    min: 1,
    max: 100,
    description: 'HTTP attempts per download; each after the first resumes with a Range request',
  },
  downloadIdleTimeoutMs: {
    kind: 'int',
    default: 30_000,
    min: 100,
    max: 600_000,
    unit: 'ms',
    description: 'a download connection silent for this long is cut and resumed',
  },
  progressIntervalMs: {
    kind: 'int',
    default: 1_000,
    min: 10,
    max: 60_000,
    unit: 'ms',
    description: 'evt.progress is published at most this often',
  },
  bootTries: {
    kind: 'int',
    default: 3,
    min: 1,
    max: 10,
    description:
      'boot attempts of a new slot (systemd-boot counter +N) before the boot loader gives up on it',
  },
  maxStarts: {
    kind: 'int',
    default: 5,
    min: 1,
    max: 100,
    description: 'agent starts within one download or install step before it fails as a restart loop',
  },
  maxRollbackReboots: {
    kind: 'int',
    default: 3,
    min: 1,
    max: 20,
    description:
      'reboots into the previous slot one rollback may request; if the node is still on the bad slot after them, the agent stops rebooting and reports it (a reboot loop helps nobody)',
  },
  writeBufferMiB: {
    kind: 'int',
    default: 4,
    min: 1,
    max: 64,
    unit: 'MiB',
    description: 'buffer size of the slot writer and read-back',
  },
  crashAt: {
    kind: 'string',
    default: '',
    pattern: /^$|^[a-z]+(?::[a-z]+)?$/,
    description:
      'TEST HOOK: the agent SIGKILLs itself at this named step (e.g. install:write); never set in production',
  },
} as const satisfies SettingsSpec;
