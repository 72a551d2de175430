/**
 * The subject scheme. Every subject of the suite is built here from typed parts, so no agent writes a
 * subject string by hand:
 *   edge.<nodeId>.<agent>.cmd.<verb>   request/reply
 *   edge.<nodeId>.<agent>.evt.<name>   events (captured by the JetStream event stream)
 *   edge.<nodeId>.<agent>.status       agent status (core NATS, latest copy in KV edge_status)
 */
import type { ServiceId } from './agents.js';
import { ContractError } from './errors.js';
import { ErrorCode } from './gen/outpost/common/v1/error_pb.js';

export const SUBJECT_ROOT = 'edge';

/** A token may not contain the separators or wildcards of NATS subjects, nor white space. */
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

export function assertToken(kind: string, value: string): string {
  if (!TOKEN.test(value)) {
    throw new ContractError(
      ErrorCode.INVALID_ARGUMENT,
      `${kind} "${value}" is not a valid subject token (1-64 of A-Z a-z 0-9 _ -)`,
    );
  }
  return value;
}

export type SubjectKind = 'cmd' | 'evt';

export function cmdSubject(nodeId: string, agent: ServiceId, verb: string): string {
  return `${SUBJECT_ROOT}.${assertToken('node id', nodeId)}.${agent}.cmd.${assertToken('verb', verb)}`;
}

export function evtSubject(nodeId: string, agent: ServiceId, name: string): string {
  return `${SUBJECT_ROOT}.${assertToken('node id', nodeId)}.${agent}.evt.${assertToken('event', name)}`;
}

export function statusSubject(nodeId: string, agent: ServiceId): string {
  return `${SUBJECT_ROOT}.${assertToken('node id', nodeId)}.${agent}.status`;
}

/** Wildcards for watchers and permissions. */
export const wildcards = {
  /** Every agent status of one node. */
  statuses: (nodeId: string) => `${SUBJECT_ROOT}.${assertToken('node id', nodeId)}.*.status`,
  /** Everything of one node: the one-line permission of a node's users. */
  node: (nodeId: string) => `${SUBJECT_ROOT}.${assertToken('node id', nodeId)}.>`,
  /** Every event of one node: what the hub takes from that node's event stream (docs/fleet.md). */
  nodeEvents: (nodeId: string) => `${SUBJECT_ROOT}.${assertToken('node id', nodeId)}.*.evt.>`,
  /** Every event of every node: what the event stream captures (and nothing else). */
  allEvents: `${SUBJECT_ROOT}.*.*.evt.>`,
} as const;

export interface ParsedSubject {
  nodeId: string;
  agent: string;
  kind: SubjectKind | 'status';
  name?: string;
}

/** Splits a concrete subject of the scheme into its parts; undefined if it is not one. */
export function parseSubject(subject: string): ParsedSubject | undefined {
  const parts = subject.split('.');
  if (parts[0] !== SUBJECT_ROOT) return undefined;
  if (parts.length === 4 && parts[3] === 'status') {
    return { nodeId: parts[1], agent: parts[2], kind: 'status' };
  }
  if (parts.length === 5 && (parts[3] === 'cmd' || parts[3] === 'evt')) {
    return { nodeId: parts[1], agent: parts[2], kind: parts[3], name: parts[4] };
  }
  return undefined;
}
