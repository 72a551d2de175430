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
  const kv: KvGrant[] = [];
  for (const agent of agents) {
    const grants = table[agent];
    if (!grants) throw new Error(`no permission row for agent "${agent}"`);
    // Its own room: serve its commands, publish its events and status, answer discovery.
    sub.add(`${node}.${agent}.cmd.*`);
    pub.add(`${node}.${agent}.evt.>`);
    pub.add(`${node}.${agent}.status`);
    for (const verb of ['*', `*.outpost-${agent}`, `*.outpost-${agent}.*`]) sub.add(`$SRV.${verb}`);
    kv.push({ bucket: KV_STATUS, key: kvKeys.status(nodeId, agent), access: ['write'] });
    for (const call of grants.calls) pub.add(`${node}.${call}`);
    for (const listen of grants.listens) sub.add(`${node}.${listen === ALL_STATUSES ? '*.status' : listen}`);
    kv.push(...grants.kv.map((g) => ({ ...g, key: g.key.replaceAll('{node}', nodeId) })));
    for (const { stream, subject } of grants.streams ?? []) {
      pub.add(subject.replaceAll('{node}', nodeId));
      for (const op of ['INFO', 'CREATE', 'UPDATE', 'MSG.GET', 'MSG.DELETE'])
        pub.add(`$JS.API.STREAM.${op}.${stream}`);
    }
  }
  for (const subject of kvSubjects(kv)) pub.add(subject);
  return {
    publish: { allow: [...pub] },
    subscribe: { allow: [...sub] },
    allow_responses: agents.length > 1 ? { max: agents.length } : true,
  };
}

/**
 * The JetStream API subjects behind KV access with nats.js 3.4 on nats-server 2.9:
 *   bind        $JS.API.STREAM.INFO.KV_<bucket>            (the runtime looks both buckets up, never creates them)
 *   read        $JS.API.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<key>   (direct get by last subject)
 *   write       $KV.<bucket>.<key>                          (put/create/update/delete publish there)
 *   watch/keys  $JS.API.CONSUMER.CREATE.KV_<bucket>.<name>.$KV.<bucket>.<key>  (ordered push consumer,
 *               named oc_<nuid>_<n>, filtered on the key, delivered to the user's inbox), and
 *               $JS.API.CONSUMER.INFO.KV_<bucket>.* (keys() reads its consumer's pending count)
 * A bucket in another JetStream domain (the hub's, through the leaf link) is reached under that domain's
 * API prefix $JS.<domain>.API, writes included ($JS.<domain>.API.$KV.<bucket>.<key>), and bound there.
 */
export function kvSubjects(grants: readonly KvGrant[]): string[] {
  const out = new Set<string>();
  for (const { bucket, key, access, domain } of grants) {
    const api = domain ? `$JS.${domain}.API` : '$JS.API';
    const stream = `KV_${bucket}`;
    const subject = `$KV.${bucket}.${key}`;
    if (domain) out.add(`${api}.STREAM.INFO.${stream}`);
    if (access.includes('read')) out.add(`${api}.DIRECT.GET.${stream}.${subject}`);
    if (access.includes('write')) out.add(domain ? `${api}.${subject}` : subject);
    if (access.includes('watch')) {
      out.add(`${api}.CONSUMER.CREATE.${stream}.*.${subject}`);
      // keys() asks its consumer's info (names are random: one token, not scoped to the key).
      out.add(`${api}.CONSUMER.INFO.${stream}.*`);
    }
  }
  return [...out];
}
