/** The telemetry agent's settings: <configDir>/telemetry.json or OUTPOST_TELEMETRY_* variables. */
import type { SettingsSpec } from '@outpost/agent-runtime';

export const telemetrySettings = {
  minIntervalSeconds: {
    kind: 'int',
    default: 1,
    min: 1,
    max: 3600,
    unit: 's',
    description: 'the shortest collection interval a profile may ask for (a lower one rejects the profile)',
  },
  maxIntervalSeconds: {
    kind: 'int',
    default: 3600,
    min: 1,
    max: 86_400,
    unit: 's',
    description: 'the longest collection interval a profile may ask for (a higher one rejects the profile)',
  },
} as const satisfies SettingsSpec;
