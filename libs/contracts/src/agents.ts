/**
 * The agent ids of a node's suite. Each is one subject token (edge.<nodeId>.<agent>...), one KV key part
 * and one NATS user of the node; they are short, stable words and never change once released.
 */
export const AGENT_IDS = [
  'node',
  'hardware',
  'cluster',
  'telemetry',
  'observability',
  'update',
  'orchestrator',
] as const;

export type AgentId = (typeof AGENT_IDS)[number];

export function isAgentId(value: string): value is AgentId {
  return (AGENT_IDS as readonly string[]).includes(value);
}

/**
 * Services that run on a fleet hub rather than on a node: the fleet control plane and the enrolment
 * service. They use the same subject scheme with the hub's domain as node id
 * (edge.hub.<service>.cmd.<verb>), the same catalog entries (HUB_CATALOG), transport and runtime, but
 * are not part of a node's suite: not in edge-node, not among the node's NATS users or its permission
 * table; their users are the hub's (@outpost/nats-config hub-accounts).
 */
export const HUB_SERVICE_IDS = ['fleet', 'enrolment'] as const;

export type HubServiceId = (typeof HUB_SERVICE_IDS)[number];

export function isHubServiceId(value: string): value is HubServiceId {
  return (HUB_SERVICE_IDS as readonly string[]).includes(value);
}

/** Whatever owns a room of the subject scheme: a node's agent or a hub service. */
export type ServiceId = AgentId | HubServiceId;
