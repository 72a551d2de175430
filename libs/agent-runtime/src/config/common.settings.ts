/**
 * Settings every agent process shares: where the bus is, who the node is, how to log, which device.
 * Read from <configDir>/outpost.json and the environment (NATS_URL, OUTPOST_NODE_ID, ...).
 */
import type { SettingsSpec } from './settings.js';

export const commonSettings = {
  natsUrl: {
    kind: 'string',
    default: 'nats://127.0.0.1:4222',
    pattern: /^(nats|tls|ws|wss):\/\/\S+$/,
    env: 'NATS_URL',
    description: 'NATS server URL(s), comma-separated',
  },
  natsUser: { kind: 'string', default: '', env: 'NATS_USER', description: 'NATS user name (empty: none)' },
  natsPassword: { kind: 'string', default: '', env: 'NATS_PASSWORD', description: 'NATS password' },
  natsNkeyFile: {
    kind: 'string',
    default: '',
    env: 'OUTPOST_NATS_NKEY_FILE',
    description:
      'NATS user nkey seed file; empty: $CREDENTIALS_DIRECTORY/nats.nk when systemd passes one ' +
      '(LoadCredential=nats.nk:/etc/outpost/nats/creds/<user>.nk), else no nkey',
  },
  natsCredsFile: {
    kind: 'string',
    default: '',
    env: 'OUTPOST_NATS_CREDS_FILE',
    description:
      'NATS .creds file (user JWT + seed) for a server in operator mode, e.g. a hub service in the FLEET ' +
      'account; empty: none (natsNkeyFile or no authentication)',
  },
  nodeId: {
    kind: 'string',
    default: '',
    pattern: /^([A-Za-z0-9_-]{1,64})?$/,
    env: 'OUTPOST_NODE_ID',
    description: 'node id; empty: derived from /etc/machine-id (or the DMI product UUID) and persisted',
  },
  logLevel: {
    kind: 'enum',
    default: 'info',
    values: ['debug', 'info', 'warn', 'error'],
    env: 'OUTPOST_LOG_LEVEL',
    description: 'lowest level written to the log',
  },
  device: {
    kind: 'enum',
    default: 'linux',
    values: ['linux', 'simulated'],
    env: 'OUTPOST_DEVICE',
    description: 'the real machine, or the device simulator in simulatorDir',
  },
  simulatorDir: {
    kind: 'string',
    default: '',
    env: 'OUTPOST_SIM_DIR',
    description: 'directory of the simulated device (required when device is simulated)',
  },
  espDir: {
    kind: 'string',
    default: '',
    env: 'OUTPOST_ESP_DIR',
    description:
      'the ESP mount of a linux device; empty: the first of /efi, /boot/efi, /boot holding loader/ ' +
      '(the root-side boot helper finds it the same way)',
  },
  bootPrivilege: {
    kind: 'enum',
    default: 'auto',
    values: ['auto', 'direct', 'helper'],
    env: 'OUTPOST_BOOT_PRIVILEGE',
    description:
      'how a linux device writes the ESP and the EFI one-shot variable: direct (the process is root), ' +
      'helper (systemctl start outpost-boot@<op>.service, allowed by polkit); auto: direct as root, else helper',
  },
  productUuidFile: {
    kind: 'string',
    default: '/sys/class/dmi/id/product_uuid',
    env: 'OUTPOST_PRODUCT_UUID_FILE',
    description: 'where the DMI product UUID is read (root-only in sysfs; the unit passes a credential copy)',
  },
  statusIntervalMs: {
    kind: 'int',
    default: 5_000,
    min: 200,
    max: 300_000,
    unit: 'ms',
    env: 'OUTPOST_STATUS_INTERVAL_MS',
    description: 'how often each agent republishes its status (its liveness signal)',
  },
  requestTimeoutMs: {
    kind: 'int',
    default: 5_000,
    min: 100,
    max: 600_000,
    unit: 'ms',
    env: 'OUTPOST_REQUEST_TIMEOUT_MS',
    description: 'default deadline of requests an agent makes, retries included',
  },
  shutdownTimeoutMs: {
    kind: 'int',
    // Below the units' TimeoutStopSec=20s, so the agent reports its own failure before systemd kills it.
    default: 15_000,
    min: 100,
    max: 600_000,
    unit: 'ms',
    env: 'OUTPOST_SHUTDOWN_TIMEOUT_MS',
    description: 'how long a SIGTERM drain may take before the process gives up waiting',
  },
} as const satisfies SettingsSpec;
