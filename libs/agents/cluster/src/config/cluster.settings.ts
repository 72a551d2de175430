/** The cluster agent's settings: <configDir>/cluster.json or OUTPOST_CLUSTER_* variables. */
import type { SettingsSpec } from '@outpost/agent-runtime';

export const clusterSettings = {} as const satisfies SettingsSpec;
