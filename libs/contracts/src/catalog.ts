/**
 * The typed catalog of every endpoint and event of the suite. A handler names its endpoint by a
 * catalog entry (`@Command(NodeApi.cmd.describe)`), a publisher its event (`NodeApi.evt.heartbeat`):
 * the subject, the request and reply schemas and the description all come from here, so the wire
 * shapes live in one place and cannot drift between agents.
 */
import type { DescMessage } from '@bufbuild/protobuf';
import type { AgentId, ServiceId } from './agents.js';
import { AgentStatusSchema } from './gen/outpost/common/v1/status_pb.js';
import { cmdSubject, evtSubject, statusSubject } from './subjects.js';

export interface CommandDef<Req extends DescMessage = DescMessage, Rep extends DescMessage = DescMessage> {
  readonly kind: 'cmd';
  readonly agent: ServiceId;
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
  readonly agent: ServiceId;
  readonly name: string;
  readonly pattern: string;
  readonly schema: M;
  readonly description: string;
  subject(nodeId: string): string;
}

export function command<Req extends DescMessage, Rep extends DescMessage>(
  agent: ServiceId,
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
  agent: ServiceId,
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
  subject: (nodeId: string, agent: ServiceId) => statusSubject(nodeId, agent),
} as const;

export interface AgentApi<Id extends ServiceId = AgentId> {
  readonly agent: Id;
  readonly cmd: Readonly<Record<string, CommandDef>>;
  readonly evt: Readonly<Record<string, EventDef>>;
}
