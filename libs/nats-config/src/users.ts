/**
 * The NATS users of one node and their permissions, rendered from the contracts' permission table:
 * one user per agent (each agent under its own systemd unit), one edge-node user with the union of all
 * rows (every agent in one process), and the admin that provisions JetStream at install time.
 */
import {
  ADMIN_USER,
  AGENT_IDS,
  AGENT_PERMISSIONS,
  ALL_STATUSES,
  EDGE_NODE_USER,
  inboxPrefixOf,
  KV_DESIRED,
  KV_STATUS,
  kvKeys,
  kvWatchConsumer,
  SUBJECT_ROOT,
  assertToken,
  type AgentGrants,
  type AgentId,
  type KvGrant,
} from '@outpost/contracts';

export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  /**
   * Lets the user answer the requests it receives (its own commands, $SRV, JetStream flow control).
   * `true` allows one reply per request; a user running several agents over one connection answers a
   * discovery request (`$SRV.PING`) once per agent, so it gets `{ max: <agents> }`.
   */
  allow_responses: true | { max: number };
}

export interface NatsUser {
  name: string;
  /** The agents this user runs; empty for the admin. */
  agents: readonly AgentId[];
  /** Undefined: unrestricted (the admin). */
  permissions?: NatsPermissions;
}

export type DeploymentMode = 'split' | 'all-in-one';

export type PermissionTable = Readonly<Partial<Record<AgentId, AgentGrants>>>;

/** The users of a node: the agents' users of the mode, then the admin. */
export function nodeUsers(
  nodeId: string,
  mode: DeploymentMode,
  table: PermissionTable = AGENT_PERMISSIONS,
): NatsUser[] {
  const agents = AGENT_IDS.filter((a) => table[a] !== undefined);
  const users: NatsUser[] =
    mode === 'split'
      ? agents.map((agent) => ({
          name: agent,
          agents: [agent],
          permissions: permissionsFor(nodeId, agent, [agent], table),
        }))
      : [
          {
            name: EDGE_NODE_USER,
            agents,
            permissions: permissionsFor(nodeId, EDGE_NODE_USER, agents, table),
          },
        ];
  return [...users, { name: ADMIN_USER, agents: [] }];
}

/** The permissions of a user that runs `agents` over one connection. */
export function permissionsFor(
  nodeId: string,
  user: string,
  agents: readonly AgentId[],
  table: PermissionTable = AGENT_PERMISSIONS,
): NatsPermissions {
  const node = `${SUBJECT_ROOT}.${assertToken('node id', nodeId)}`;
  const sub = new Set<string>([`${inboxPrefixOf(user)}.>`]);
  // The runtime binds both buckets at start (a stream lookup each, metadata only).
  const pub = new Set<string>([KV_DESIRED, KV_STATUS].map((b) => `$JS.API.STREAM.INFO.KV_${b}`));
  const kv: AgentKvGrant[] = [];
  for (const agent of agents) {
    const grants = table[agent];
    if (!grants) throw new Error(`no permission row for agent "${agent}"`);
    // Its own room: serve its commands, publish its events and status, answer discovery.
    sub.add(`${node}.${agent}.cmd.*`);
    pub.add(`${node}.${agent}.evt.>`);
    pub.add(`${node}.${agent}.status`);
    for (const verb of ['*', `*.outpost-${agent}`, `*.outpost-${agent}.*`]) sub.add(`$SRV.${verb}`);
    kv.push({ agent, bucket: KV_STATUS, key: kvKeys.status(nodeId, agent), access: ['write'] });
    for (const call of grants.calls) pub.add(`${node}.${call}`);
    for (const listen of grants.listens) sub.add(`${node}.${listen === ALL_STATUSES ? '*.status' : listen}`);
    kv.push(...grants.kv.map((g) => ({ ...g, agent, key: g.key.replaceAll('{node}', nodeId) })));
    // A provisioned stream: publish into it, read its state and messages, delete what was delivered.
    // Never CREATE or UPDATE (the configuration is the admin's, docs/security.md), and no direct get or
    // consumer: a read by MSG.GET comes back wrapped in JSON, so it cannot be replayed onto a subject.
    for (const { stream, subject } of grants.streams ?? []) {
      pub.add(subject.replaceAll('{node}', nodeId));
      for (const op of ['INFO', 'MSG.GET', 'MSG.DELETE']) pub.add(`$JS.API.STREAM.${op}.${stream}`);
    }
  }
  for (const subject of kvSubjects(nodeId, kv)) pub.add(subject);
  return {
    publish: { allow: [...pub] },
    subscribe: { allow: [...sub] },
    allow_responses: agents.length > 1 ? { max: agents.length } : true,
  };
}

/** A KV grant of one of the user's agents (a watch's consumer is the agent's own). */
export interface AgentKvGrant extends KvGrant {
  readonly agent: AgentId;
}

/**
 * The JetStream API subjects behind KV access with nats.js 3.4 on nats-server 2.9:
 *   bind   $JS.API.STREAM.INFO.KV_<bucket>                    (the runtime looks both buckets up, never creates them)
 *   read   $JS.API.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<key>  (direct get by last subject)
 *   write  $KV.<bucket>.<key>                                 (put/create/update/delete publish there)
 *   watch  a read of the key's current value, then its changes from the durable pull consumer the admin
 *          provisioned (kvWatchConsumer): $JS.API.CONSUMER.INFO.KV_<bucket>.<durable> (the client looks
 *          it up), $JS.API.CONSUMER.MSG.NEXT.KV_<bucket>.<durable> (fetch), $JS.ACK.KV_<bucket>.<durable>.>
 *          (ack). No CONSUMER.CREATE: a consumer the agent configures could deliver anywhere.
 * A bucket in another JetStream domain (the hub's fleet_leases, through the leaf link) is read and
 * written under that domain's API prefix ($JS.<domain>.API.DIRECT.GET..., $JS.<domain>.API.$KV.<bucket>.<key>)
 * and bound there ($JS.<domain>.API.STREAM.INFO.KV_<bucket>); no watch crosses domains.
 */
export function kvSubjects(nodeId: string, grants: readonly AgentKvGrant[]): string[] {
  const out = new Set<string>();
  for (const { agent, bucket, key, access, domain } of grants) {
    const stream = `KV_${bucket}`;
    const subject = `$KV.${bucket}.${key}`;
    if (domain) {
      const api = `$JS.${domain}.API`;
      out.add(`${api}.STREAM.INFO.${stream}`);
      if (access.includes('read')) out.add(`${api}.DIRECT.GET.${stream}.${subject}`);
      if (access.includes('write')) out.add(`${api}.${subject}`);
      continue;
    }
    if (access.includes('read') || access.includes('watch'))
      out.add(`$JS.API.DIRECT.GET.${stream}.${subject}`);
    if (access.includes('write')) out.add(subject);
    if (access.includes('watch')) {
      const durable = kvWatchConsumer(nodeId, agent, key);
      out.add(`$JS.API.CONSUMER.INFO.${stream}.${durable}`);
      out.add(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`);
      out.add(`$JS.ACK.${stream}.${durable}.>`);
    }
  }
  return [...out];
}
