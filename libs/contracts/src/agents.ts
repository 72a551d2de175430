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
