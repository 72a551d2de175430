/**
 * The agent ids of the suite. Each is one subject token (edge.<nodeId>.<agent>...), one KV key part and
 * one NATS user; they are short, stable words and never change once released.
 */
export const AGENT_IDS = [
  'node',
  'hardware',
  'cluster',
  'telemetry',
  'observability',
  'update',
  'orchestrator',
  'fleet',
] as const;

export type AgentId = (typeof AGENT_IDS)[number];

export function isAgentId(value: string): value is AgentId {
  return (AGENT_IDS as readonly string[]).includes(value);
}

/** Services that run on the hub, not on a node (edge-node does not run them): their node id is "hub". */
export const HUB_AGENT_IDS: readonly AgentId[] = ['fleet'];

/** The agents a node runs (edge-node, or one unit each): every agent id but the hub's. */
export const NODE_AGENT_IDS: readonly AgentId[] = AGENT_IDS.filter((a) => !HUB_AGENT_IDS.includes(a));

/**
 * Services that run on a fleet hub rather than on a node. They use the same subject scheme with the
 * hub's domain as node id (edge.hub.<service>.cmd.<verb>) and the same catalog, transport and runtime,
 * but are not part of a node's suite (edge-node, the node's NATS users and permission table).
 */
export const HUB_SERVICE_IDS = ['enrolment'] as const;

export type HubServiceId = (typeof HUB_SERVICE_IDS)[number];

/** Whatever owns a room of the subject scheme: a node's agent or a hub service. */
export type ServiceId = AgentId | HubServiceId;
