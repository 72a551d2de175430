/** The fleet agent's settings: <configDir>/fleet.json or OUTPOST_FLEET_* variables. */
import type { SettingsSpec } from '@outpost/agent-runtime';

export const fleetSettings = {
  maxTextLength: {
    kind: 'int',
    default: 256,
    min: 1,
    max: 65_536,
    unit: 'characters',
    description: 'the longest text cmd.echo accepts (a longer one is answered with INVALID_ARGUMENT)',
  },
} as const satisfies SettingsSpec;
