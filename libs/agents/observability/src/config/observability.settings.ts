/**
 * The observability agent's node-local settings: <configDir>/observability.json or
 * OUTPOST_OBSERVABILITY_* variables. What to collect and where to export comes from the telemetry
 * profile (evt.config); these are the limits of this node's buffer and the local details.
 */
import type { SettingsSpec } from '@outpost/agent-runtime';

export const observabilitySettings = {
  prometheusHost: {
    kind: 'string',
    default: '0.0.0.0',
    description: 'address the Prometheus scrape endpoint listens on (its port comes from the profile)',
  },
  bufferMaxBytes: {
    kind: 'int',
    default: 64 * 1024 * 1024,
    min: 1024,
    max: 16 * 1024 * 1024 * 1024,
    unit: 'bytes',
    description:
      'bytes each offline buffer stream keeps while its exporter is unreachable; the oldest batches are dropped first ' +
      '(only where the agents provision JetStream; on an installed node, nats-config.mjs --provision --buffer-max-bytes)',
  },
  bufferMaxAgeSeconds: {
    kind: 'int',
    default: 7 * 24 * 3600,
    min: 1,
    max: 90 * 24 * 3600,
    unit: 's',
    description:
      'age after which a buffered batch is dropped (only where the agents provision JetStream; on an installed ' +
      'node, nats-config.mjs --provision --buffer-max-age)',
  },
  retryIntervalMs: {
    kind: 'int',
    default: 2000,
    min: 10,
    max: 600_000,
    unit: 'ms',
    description: 'pause between delivery attempts to an unreachable exporter',
  },
  exportTimeoutMs: {
    kind: 'int',
    default: 10_000,
    min: 100,
    max: 120_000,
    unit: 'ms',
    description: 'how long one delivery may take before the exporter counts as unreachable',
  },
  logBatchDelayMs: {
    kind: 'int',
    default: 1000,
    min: 10,
    max: 60_000,
    unit: 'ms',
    description: 'how long log records and spans are gathered before they are exported as one batch',
  },
  journalUnits: {
    kind: 'string',
    default: 'outpost-*',
    description: 'the systemd units whose journal the journal input follows (journalctl -u pattern)',
  },
  journalCommand: {
    kind: 'string',
    default: 'journalctl',
    description: 'the journalctl binary',
  },
} as const satisfies SettingsSpec;
