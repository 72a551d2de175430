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
  labels: {
    kind: 'list',
    default: [],
    description:
      "the node's labels, key=value each (e.g. site=berlin,tier=canary in the environment): carried by every heartbeat, the fleet inventory's source (a hub may override them)",
  },
  requiredAgents: {
    kind: 'list',
    default: ['node'],
    allowed: AGENT_IDS,
    description: 'agents that must be READY for the node to be HEALTHY (comma-separated in the environment)',
  },
} as const satisfies SettingsSpec;
