/**
 * The hub side of a fleet: the hub's stream of every node's events, and JetStream handles that reach a
 * node's own streams and KV through its domain ($JS.<nodeId>.API over the leaf link). Node agents never
 * use this; they keep provisioning and using their local JetStream (provisionJetStream) unchanged.
 */
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
  type StreamSource,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  assertToken,
  ContractError,
  ErrorCode,
  EVENT_STREAM,
  FLEET_EVENT_STREAM,
  HUB_DOMAIN,
  nodeDomainApi,
  wildcards,
} from '@outpost/contracts';

export interface FleetEventLimits {
  /** Oldest event kept on the hub, ms (default 30 days). */
  maxAgeMs?: number;
  /** Bytes of events kept on the hub (default 10 GiB); the oldest go first. */
  maxBytes?: number;
  /** Replicas of the hub stream (default 3: one per hub cluster member). */
  replicas?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Creates the hub's FLEET_EVENTS stream, or adds the sources of nodes it does not source yet (sources of
 * other nodes are kept). Idempotent; run it from one place (an operator tool), since two concurrent
 * updates of the source list can drop each other's additions.
 */
export async function provisionFleetEvents(
  hub: NatsConnection,
  nodeIds: readonly string[],
  limits: FleetEventLimits = {},
): Promise<StreamInfo> {
  const wanted = nodeIds.map(nodeEventSource);
  const jsm = await jetstreamManager(hub);
  let current: StreamConfig | undefined;
  try {
    current = (await jsm.streams.info(FLEET_EVENT_STREAM)).config;
  } catch (err) {
    if (!/not found/i.test(String((err as Error)?.message ?? err))) throw err;
  }
  if (current === undefined) {
    return jsm.streams.add({
      name: FLEET_EVENT_STREAM,
      description: 'Outpost events of every node, sourced from each node domain (edge.<node>.<agent>.evt.>)',
      // No subjects: the stream only takes what its sources deliver, never live traffic on the hub.
      subjects: [],
      sources: wanted,
      max_age: (limits.maxAgeMs ?? 30 * DAY_MS) * 1_000_000,
      max_bytes: limits.maxBytes ?? 10 * 1024 * 1024 * 1024,
      num_replicas: limits.replicas ?? 3,
    });
  }
  const have = new Set((current.sources ?? []).map((s) => s.external?.api));
  const missing = wanted.filter((s) => !have.has(s.external?.api));
  if (missing.length === 0) return jsm.streams.info(FLEET_EVENT_STREAM);
  return jsm.streams.update(FLEET_EVENT_STREAM, {
    ...current,
    sources: [...(current.sources ?? []), ...missing],
  });
}

/** One node's event stream as a source of the hub stream: only that node's own events. */
export function nodeEventSource(nodeId: string): StreamSource {
  assertNodeDomain(nodeId);
  return {
    name: EVENT_STREAM,
    external: { api: nodeDomainApi(nodeId), deliver: '' },
    filter_subject: wildcards.nodeEvents(nodeId),
  };
}

/** JetStream of a node's domain, from a connection anywhere in the fleet (e.g. an operator on the hub). */
export function nodeJetStream(nc: NatsConnection, nodeId: string): JetStreamClient {
  return jetstream(nc, { domain: assertNodeDomain(nodeId) });
}

export function nodeJetStreamManager(nc: NatsConnection, nodeId: string): Promise<JetStreamManager> {
  return jetstreamManager(nc, { domain: assertNodeDomain(nodeId) });
}

/** The KV buckets of a node's domain (edge_desired, edge_status), e.g. to set one node's desired state. */
export function nodeKvm(nc: NatsConnection, nodeId: string): Kvm {
  return new Kvm(nodeJetStream(nc, nodeId));
}

function assertNodeDomain(nodeId: string): string {
  assertToken('node id', nodeId);
  if (nodeId === HUB_DOMAIN) {
    throw new ContractError(ErrorCode.INVALID_ARGUMENT, `node id "${nodeId}" is the hub's JetStream domain`);
  }
  return nodeId;
}
