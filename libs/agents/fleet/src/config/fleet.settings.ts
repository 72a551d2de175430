/** The fleet service's settings: <configDir>/fleet.json or OUTPOST_FLEET_* variables. */
import type { SettingsSpec } from '@outpost/agent-runtime';

export const fleetSettings = {
  tickMs: {
    kind: 'int',
    default: 2_000,
    min: 50,
    max: 600_000,
    unit: 'ms',
    description: 'how often every running rollout is decided again (events also wake it)',
  },
  nodeStaleMs: {
    kind: 'int',
    default: 60_000,
    min: 500,
    max: 86_400_000,
    unit: 'ms',
    description:
      'a node silent for longer than this shows offline in the inventory (keep it above 2x the heartbeat)',
  },
  writeTimeoutMs: {
    kind: 'int',
    default: 5_000,
    min: 100,
    max: 120_000,
    unit: 'ms',
    description: "deadline of one write into a node's domain (an offline node is retried at the next tick)",
  },
  replicas: {
    kind: 'int',
    default: 3,
    min: 1,
    max: 5,
    description: 'replicas of the hub buckets fleet_state and fleet_leases when the service creates them',
  },
} as const satisfies SettingsSpec;
