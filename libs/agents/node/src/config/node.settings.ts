/** The node agent's settings: <configDir>/node.json or OUTPOST_NODE_* variables. */
import { AGENT_IDS } from '@outpost/contracts';
import type { SettingsSpec } from '@outpost/agent-runtime';

export const nodeSettings = {
  heartbeatIntervalMs: {
    kind: 'int',
    default: 10_000,
    min: 500,
    max: 3_600_000,
    unit: 'ms',
    description: 'how often edge.<nodeId>.node.evt.heartbeat is published',
  },
  staleAfterMs: {
    kind: 'int',
    default: 15_000,
    min: 500,
    max: 3_600_000,
    unit: 'ms',
    description: 'an agent silent for longer than this counts as lost (keep it above 2x the status interval)',
  },
  requiredAgents: {
    kind: 'list',
    default: ['node'],
    allowed: AGENT_IDS,
    description: 'agents that must be READY for the node to be HEALTHY (comma-separated in the environment)',
  },
} as const satisfies SettingsSpec;
