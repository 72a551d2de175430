/**
 * JetStream names: the event stream and the KV buckets, with their keys. Keys are built here only.
 *   edge_desired  <nodeId>.<area>            desired state an operator writes (nats kv put)
 *   edge_status   <nodeId>.<agent>           latest AgentStatus of each agent
 *                 <nodeId>.node.health       latest NodeHealth
 *                 <nodeId>.node.identity     the node's identity
 *                 <nodeId>.hardware.inventory  latest hardware Inventory
 *                 <nodeId>.cluster.state   latest ClusterStatus of the cluster agent
 *                 <nodeId>.update.state    latest UpdateStatus of the platform-update agent
 *                 <nodeId>.telemetry.effective  effective TelemetryConfig of the telemetry agent
 */
import type { ServiceId } from './agents.js';
import { assertToken, wildcards } from './subjects.js';

export const EVENT_STREAM = 'EDGE_EVENTS';
/** The stream captures only evt subjects: one covering cmd subjects would answer requests with PubAcks. */
export const EVENT_STREAM_SUBJECTS = [wildcards.allEvents];

/**
 * A fleet (docs/fleet.md): each node's server is a leaf of a hub cluster, in a JetStream domain named by
 * the node id; the hub's own domain is HUB_DOMAIN. The hub's FLEET_EVENT_STREAM has no subjects: it
 * sources every node's EVENT_STREAM through that node's domain API (nodeDomainApi).
 */
export const HUB_DOMAIN = 'hub';
export const FLEET_EVENT_STREAM = 'FLEET_EVENTS';
/** The JetStream API prefix of a node's domain as seen from the hub ($JS.<nodeId>.API). */
export const nodeDomainApi = (nodeId: string) => `$JS.${assertToken('node id', nodeId)}.API`;

/**
 * Hub buckets (domain HUB_DOMAIN) of the fleet service: its rollouts and label overrides
 * (fleet_state: rollout.<id>, labels.<nodeId>), and the rollout leases every node's orchestrator takes
 * through its leaf link when its leaseDomain setting names the hub (fleet_leases: rollout.<group>.lease-<n>).
 */
export const KV_FLEET_STATE = 'fleet_state';
export const KV_FLEET_LEASES = 'fleet_leases';
export const fleetKeys = {
  rollout: (id: string) => `rollout.${assertToken('rollout id', id)}`,
  labels: (nodeId: string) => `labels.${assertToken('node id', nodeId)}`,
} as const;

/** The enrolment service's records on the hub (domain hub): tokens by token id, nodes by node id. */
export const KV_ENROLMENT_TOKENS = 'enrolment_tokens';
export const KV_ENROLMENT_NODES = 'enrolment_nodes';

export const KV_DESIRED = 'edge_desired';
export const KV_STATUS = 'edge_status';

export const kvKeys = {
  status: (nodeId: string, agent: ServiceId) => `${assertToken('node id', nodeId)}.${agent}`,
  nodeHealth: (nodeId: string) => `${assertToken('node id', nodeId)}.node.health`,
  nodeIdentity: (nodeId: string) => `${assertToken('node id', nodeId)}.node.identity`,
  desired: (nodeId: string, area: string) => `${assertToken('node id', nodeId)}.${assertToken('area', area)}`,
  /** Every agent status of a node (two tokens: excludes the node.health and node.identity keys). */
  statuses: (nodeId: string) => `${assertToken('node id', nodeId)}.*`,
  /** The latest hardware Inventory of a node (edge_status). */
  hardwareInventory: (nodeId: string) => `${assertToken('node id', nodeId)}.hardware.inventory`,
  /** The cluster agent's latest ClusterStatus (edge_status). */
  clusterState: (nodeId: string) => `${assertToken('node id', nodeId)}.cluster.state`,
  /** The platform-update agent's latest UpdateStatus (edge_status). */
  updateState: (nodeId: string) => `${assertToken('node id', nodeId)}.update.state`,
  /** The orchestrator's desired update of a node (edge_desired): DesiredUpdate JSON. */
  desiredUpdate: (nodeId: string) => `${assertToken('node id', nodeId)}.update`,
  /** The orchestrator's run history of a node (edge_status): HistoryReply. */
  orchestratorHistory: (nodeId: string) => `${assertToken('node id', nodeId)}.orchestrator.history`,
  /** A rollout lease of the update orchestrators of one group (edge_status): slot 0..maxParallel-1. */
  rolloutLease: (group: string, slot: number) =>
    `rollout.${assertToken('rollout group', group)}.lease-${slot}`,
  /** The fleet-wide default telemetry profile (edge_desired): TelemetryProfile JSON. */
  fleetTelemetry: () => 'fleet.telemetry',
  /** The telemetry agent's effective configuration (edge_status): TelemetryConfig. */
  telemetryEffective: (nodeId: string) => `${assertToken('node id', nodeId)}.telemetry.effective`,
} as const;

/**
 * The durable pull consumer through which `agent` of node `nodeId` follows one KV key:
 * `kvw_<node>_<agent>_<key>` with the key's dots as dashes (the node is in the name even for a
 * fleet-wide key, so nodes sharing a development server never share a consumer). The admin creates it
 * at install time with a fixed configuration (filter on the key, no deliver subject); the agent only
 * fetches from it ($JS.API.CONSUMER.MSG.NEXT) and acks, so it never chooses where JetStream delivers.
 * Node, agent and key tokens are subject tokens: the name has no '.', '*' or '>'.
 */
export function kvWatchConsumer(nodeId: string, agent: ServiceId, key: string): string {
  const tokens = key.split('.').map((t) => assertToken('watched KV key token', t));
  return `kvw_${assertToken('node id', nodeId)}_${agent}_${tokens.join('-')}`;
}

/**
 * The observability agent's offline buffers: one JetStream stream per exporter, named
 * OBS_BUFFER_<SINK>, capturing `outpost.<nodeId>.observability.buffer.<sink>`. Internal traffic, outside
 * the contract namespace `edge.>` (an operator's `nats sub 'edge.>'` sees only catalog subjects).
 */
export const OBS_BUFFER_STREAM_PREFIX = 'OBS_BUFFER_';
/** The pushed exporters that have an offline buffer (one stream each). */
export const OBS_BUFFER_SINKS = ['otlp-metrics', 'otlp-logs', 'otlp-traces', 'fluent-forward'] as const;
export function obsBufferNames(nodeId: string, sink: string): { stream: string; subject: string } {
  return {
    stream: `${OBS_BUFFER_STREAM_PREFIX}${sink.toUpperCase().replace(/-/g, '_')}`,
    subject: `outpost.${nodeId}.observability.buffer.${sink}`,
  };
}
