/**
 * What each agent legitimately does on the bus beyond its own subjects: the single source of the NATS
 * users' permissions (rendered by @outpost/nats-config) and of docs/security.md.
 *
 * Every agent may, without a row saying so: serve its own commands (edge.<node>.<agent>.cmd.*), publish
 * its own events and status (edge.<node>.<agent>.evt.>, .status), write its own status key
 * (edge_status <node>.<agent>), answer the micro protocol ($SRV.*) and receive replies on its own inbox.
 * A row adds only what crosses into another agent's room or into shared KV keys. Key templates use
 * `{node}` for the node id and may use NATS wildcards (`*`, `>`).
 */
import type { AgentId, ServiceId } from './agents.js';
import {
  HUB_DOMAIN,
  KV_DESIRED,
  KV_FLEET_LEASES,
  KV_STATUS,
  OBS_BUFFER_SINKS,
  obsBufferNames,
} from './storage.js';

/** A catalog pattern of another agent: `<agent>.cmd.<verb>` or `<agent>.evt.<name>`. */
export type CommandPattern = `${AgentId}.cmd.${string}`;
export type EventPattern = `${AgentId}.evt.${string}`;
/** Every agent's status subject (edge.<node>.*.status). */
export const ALL_STATUSES = '*.status';

export type KvAccess = 'read' | 'write' | 'watch';

export interface KvGrant {
  readonly bucket: typeof KV_DESIRED | typeof KV_STATUS | typeof KV_FLEET_LEASES;
  /** The JetStream domain of the bucket when it is not the node's own (the hub's: reached through the leaf). */
  readonly domain?: string;
  /** Key template: `{node}` stands for the node id; NATS wildcards allowed. */
  readonly key: string;
  /**
   * read: get by key; write: put/create/update/delete; watch: follow the key's changes through a durable
   * pull consumer the admin provisions (kvWatchConsumer; the key must be literal), after a read of its
   * current value.
   */
  readonly access: readonly KvAccess[];
}

/**
 * A JetStream stream an agent writes and reads, e.g. the observability agent's offline buffers. The
 * provisioning step creates it at install time as the admin, with a fixed configuration (@outpost/bus
 * provisionJetStream); the agent publishes into `subject` (with `{node}`), reads its state and messages
 * and deletes messages, but can neither create nor update it: a stream whose configuration the agent
 * chose could republish, source or mirror into any subject of the node.
 */
export interface StreamGrant {
  readonly stream: string;
  readonly subject: string;
}

export interface AgentGrants {
  /** Commands of other agents this agent requests. */
  readonly calls: readonly CommandPattern[];
  /** Events of other agents it subscribes to, or ALL_STATUSES. */
  readonly listens: readonly (EventPattern | typeof ALL_STATUSES)[];
  /** KV keys beyond its own status key. */
  readonly kv: readonly KvGrant[];
  /** Provisioned streams it writes and reads (none when absent). */
  readonly streams?: readonly StreamGrant[];
}

export const AGENT_PERMISSIONS: Readonly<Record<AgentId, AgentGrants>> = {
  node: {
    calls: [],
    // Node health aggregates the liveness of every agent: their status subjects and KV status keys.
    listens: [ALL_STATUSES],
    kv: [
      // At start it reads what every agent said last (one get per known agent); live, it listens.
      { bucket: KV_STATUS, key: '{node}.*', access: ['read'] },
      { bucket: KV_STATUS, key: '{node}.node.health', access: ['write'] },
      { bucket: KV_STATUS, key: '{node}.node.identity', access: ['write'] },
    ],
  },
  hardware: {
    calls: [],
    listens: [],
    kv: [{ bucket: KV_STATUS, key: '{node}.hardware.inventory', access: ['write'] }],
  },
  cluster: {
    calls: [],
    listens: [],
    kv: [
      { bucket: KV_DESIRED, key: '{node}.cluster', access: ['watch'] },
      { bucket: KV_STATUS, key: '{node}.cluster.state', access: ['write'] },
    ],
  },
  update: {
    calls: [],
    listens: [],
    kv: [{ bucket: KV_STATUS, key: '{node}.update.state', access: ['write'] }],
  },
  orchestrator: {
    calls: [
      'update.cmd.status',
      'update.cmd.download',
      'update.cmd.install',
      'update.cmd.reboot',
      'update.cmd.commit',
      'update.cmd.rollback',
      'update.cmd.abort',
      'node.cmd.health',
    ],
    listens: ['update.evt.state'],
    kv: [
      { bucket: KV_DESIRED, key: '{node}.update', access: ['watch'] },
      { bucket: KV_STATUS, key: '{node}.orchestrator.history', access: ['write'] },
      // Fleet rollout leases are shared by the orchestrators of a group: compare-and-set on rollout.<group>.lease-<n>.
      { bucket: KV_STATUS, key: 'rollout.*.*', access: ['read', 'write'] },
      // The same leases in the hub's fleet_leases (setting leaseDomain: "hub"), so the limit holds across leaf nodes.
      { bucket: KV_FLEET_LEASES, domain: HUB_DOMAIN, key: 'rollout.*.*', access: ['read', 'write'] },
    ],
  },
  telemetry: {
    calls: [],
    listens: [],
    kv: [
      { bucket: KV_DESIRED, key: 'fleet.telemetry', access: ['watch'] },
      { bucket: KV_DESIRED, key: '{node}.telemetry', access: ['watch'] },
      { bucket: KV_STATUS, key: '{node}.telemetry.effective', access: ['write'] },
    ],
  },
  observability: {
    // The data plane follows the effective configuration in KV (a watch survives restarts and missed
    // events) and reports every apply back, which may roll the configuration back.
    calls: ['telemetry.cmd.report-apply'],
    listens: [],
    kv: [{ bucket: KV_STATUS, key: '{node}.telemetry.effective', access: ['watch'] }],
    // Offline buffers while an exporter is away (storage.ts obsBufferNames): one per pushed exporter
    // kind, all provisioned at install whether or not that exporter is configured.
    streams: OBS_BUFFER_SINKS.map((sink) => obsBufferNames('{node}', sink)),
  },
  // @outpost-generator:permissions
};

/** The NATS user of the all-in-one process (apps/edge-node): every row's grants over one connection. */
export const EDGE_NODE_USER = 'edge-node';
/** The install-time user that provisions JetStream and that operators use; no agent runs as it. */
export const ADMIN_USER = 'admin';

/** The NATS user a process runs as: the agent's id alone, edge-node for several agents in one process. */
export function natsUserOf(agents: readonly ServiceId[]): string {
  return agents.length === 1 ? agents[0] : EDGE_NODE_USER;
}

/** Each user's own reply subjects, so permissions can allow replies to it and nobody else. */
export function inboxPrefixOf(user: string): string {
  return `_INBOX.${user}`;
}
