/**
 * The typed catalog of every endpoint and event of the suite. A handler names its endpoint by a
 * catalog entry (`@Command(NodeApi.cmd.describe)`), a publisher its event (`NodeApi.evt.heartbeat`):
 * the subject, the request and reply schemas and the description all come from here, so the wire
 * shapes live in one place and cannot drift between agents.
 */
import type { DescMessage } from '@bufbuild/protobuf';
import type { AgentId } from './agents.js';
import { AgentStatusSchema, NodeHealthSchema } from './gen/outpost/common/v1/status_pb.js';
import {
  DescribeReplySchema,
  DescribeRequestSchema,
  HealthRequestSchema,
  HeartbeatSchema,
} from './gen/outpost/node/v1/node_pb.js';
import { cmdSubject, evtSubject, statusSubject } from './subjects.js';

export interface CommandDef<Req extends DescMessage = DescMessage, Rep extends DescMessage = DescMessage> {
  readonly kind: 'cmd';
  readonly agent: AgentId;
  readonly name: string;
  /** The Nest pattern: `<agent>.cmd.<verb>`; the transport prefixes edge.<nodeId>. */
  readonly pattern: string;
  readonly request: Req;
  readonly reply: Rep;
  readonly description: string;
  subject(nodeId: string): string;
}

export interface EventDef<M extends DescMessage = DescMessage> {
  readonly kind: 'evt';
  readonly agent: AgentId;
  readonly name: string;
  readonly pattern: string;
  readonly schema: M;
  readonly description: string;
  subject(nodeId: string): string;
}

export function command<Req extends DescMessage, Rep extends DescMessage>(
  agent: AgentId,
  name: string,
  request: Req,
  reply: Rep,
  description: string,
): CommandDef<Req, Rep> {
  cmdSubject('x', agent, name); // validates the verb once, at load
  return {
    kind: 'cmd',
    agent,
    name,
    pattern: `${agent}.cmd.${name}`,
    request,
    reply,
    description,
    subject: (nodeId) => cmdSubject(nodeId, agent, name),
  };
}

export function event<M extends DescMessage>(
  agent: AgentId,
  name: string,
  schema: M,
  description: string,
): EventDef<M> {
  evtSubject('x', agent, name);
  return {
    kind: 'evt',
    agent,
    name,
    pattern: `${agent}.evt.${name}`,
    schema,
    description,
    subject: (nodeId) => evtSubject(nodeId, agent, name),
  };
}

/** Every agent's status subject carries an AgentStatus. */
export const StatusApi = {
  schema: AgentStatusSchema,
  subject: (nodeId: string, agent: AgentId) => statusSubject(nodeId, agent),
} as const;

export const NodeApi = {
  agent: 'node',
  cmd: {
    describe: command(
      'node',
      'describe',
      DescribeRequestSchema,
      DescribeReplySchema,
      'Node identity, every agent seen on the node, uptime and version',
    ),
    health: command(
      'node',
      'health',
      HealthRequestSchema,
      NodeHealthSchema,
      'The aggregate health of the node: HEALTHY only when every required agent is READY and fresh',
    ),
  },
  evt: {
    heartbeat: event('node', 'heartbeat', HeartbeatSchema, 'Published every heartbeat interval'),
    health: event('node', 'health', NodeHealthSchema, 'Published when the aggregate health changes'),
  },
} as const;

export interface AgentApi {
  readonly agent: AgentId;
  readonly cmd: Readonly<Record<string, CommandDef>>;
  readonly evt: Readonly<Record<string, EventDef>>;
}

/** Every agent API of the suite, by agent id. */
export const CATALOG: Partial<Record<AgentId, AgentApi>> = {
  node: NodeApi,
};

const byPattern = new Map<string, CommandDef | EventDef>();
for (const api of Object.values(CATALOG)) {
  for (const def of [...Object.values(api.cmd), ...Object.values(api.evt)]) byPattern.set(def.pattern, def);
}

/** The catalog entry of a Nest pattern, or undefined if the catalog has none. */
export function catalogEntry(pattern: string): CommandDef | EventDef | undefined {
  return byPattern.get(pattern);
}
