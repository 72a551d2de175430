/** The update orchestrator's settings: <configDir>/orchestrator.json or OUTPOST_ORCHESTRATOR_* variables. */
import type { SettingsSpec } from '@outpost/agent-runtime';

export const orchestratorSettings = {
  expectedUpdateMinutes: {
    kind: 'int',
    default: 30,
    min: 1,
    max: 1440,
    unit: 'min',
    description:
      'time an install + reboot + health trial is expected to take; an install starts only with this much window left',
  },
  minimumWindowLeftMinutes: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 1440,
    unit: 'min',
    description: 'a floor on the window time left at install start (used when above expectedUpdateMinutes)',
  },
  jitterPercent: {
    kind: 'int',
    default: 25,
    min: 0,
    max: 90,
    unit: '%',
    description:
      'nodes spread their start over this first part of a window (deterministic: a hash of the node id)',
  },
  trialPollMs: {
    kind: 'int',
    default: 2_000,
    min: 100,
    max: 60_000,
    unit: 'ms',
    description: 'how often the health trial asks for node health and reruns the checks',
  },
  updateStatusPollMs: {
    kind: 'int',
    default: 60_000,
    min: 100,
    max: 600_000,
    unit: 'ms',
    description:
      "the update agent's evt.state drives the orchestrator; while it works, its status is also read this often, only as a safety net for a missed event (and a repeated request waits this long)",
  },
  offNodeChecksCount: {
    kind: 'bool',
    default: false,
    description: 'count a failed offNode check as a device failure (default: reported only)',
  },
  leaseRetryMs: {
    kind: 'int',
    default: 30_000,
    min: 100,
    max: 3_600_000,
    unit: 'ms',
    description:
      'with a full rollout group, the lease is tried again this often (or when the first lease expires)',
  },
  leaseDomain: {
    kind: 'string',
    default: '',
    pattern: /^([A-Za-z0-9_-]{1,64})?$/,
    description:
      'the hub\'s JetStream domain ("hub") to take rollout leases in its fleet_leases bucket through the leaf link, so the limit holds across the fleet; empty: KV edge_status of this node\'s server',
  },
  historyLength: {
    kind: 'int',
    default: 50,
    min: 1,
    max: 1000,
    description: 'runs kept in the history (oldest dropped)',
  },
} as const satisfies SettingsSpec;
