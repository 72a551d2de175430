/** The hardware agent's settings: <configDir>/hardware.json or OUTPOST_HARDWARE_* variables. */
import type { SettingsSpec } from '@outpost/agent-runtime';

export const hardwareSettings = {} as const satisfies SettingsSpec;
