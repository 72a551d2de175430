/**
 * Idempotent provisioning of every JetStream asset of a node, with fixed configurations: the event
 * stream (evt subjects only, with limits so an offline node keeps recent events without filling its
 * disk), the KV buckets for desired and observed state, the streams agents write into (the
 * observability agent's offline buffers) and the durable pull consumers through which agents follow
 * KV keys. The permission table (@outpost/contracts AGENT_PERMISSIONS) says which streams and watches
 * exist. On a node with NATS users this runs at install time as the admin
 * (tools/scripts/nats-config.mjs --provision) and the agents only bind, publish, fetch, ack and delete:
 * no agent holds a create or update right, because a stream or consumer whose configuration an agent
 * chose could republish, source, mirror or deliver into any subject of the node (docs/security.md). A
 * development server without users is provisioned by the first agent that starts, through this same
 * code. Only features of nats-server 2.9 are used (the Debian server here is 2.9.10).
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  AGENT_PERMISSIONS,
  assertToken,
  EVENT_STREAM,
  EVENT_STREAM_SUBJECTS,
  KV_DESIRED,
  KV_STATUS,
  kvWatchConsumer,
  type AgentGrants,
  type AgentId,
  type StreamGrant,
} from '@outpost/contracts';

export interface JetStreamLimits {
  /** Oldest event kept, ms (default 7 days). */
  eventMaxAgeMs?: number;
  /** Bytes of events kept (default 256 MiB); the oldest go first. */
  eventMaxBytes?: number;
  /** Bytes each agent stream (an offline buffer) keeps (default 64 MiB); the oldest go first. */
  bufferMaxBytes?: number;
  /** Oldest message an agent stream keeps, ms (default 7 days). */
  bufferMaxAgeMs?: number;
  /** Replicas: 1 on a node; 3 on a hub cluster. */
  replicas?: number;
  /** Create the event stream (default true); false on a hub, where it would capture every node's events. */
  events?: boolean;
}

export interface ProvisionOptions extends JetStreamLimits {
  /** The node whose agent streams and KV watches are provisioned (their subjects name it). */
  nodeId: string;
  /** Which streams and watches exist (default: the contracts' table). */
  table?: Readonly<Partial<Record<AgentId, AgentGrants>>>;
  /**
   * Create the agents' streams too (default). A development server that several simulated nodes share
   * leaves them to their agents: a stream's name is the same on every node, its subject is not.
   */
  agentStreams?: boolean;
}

export interface BusStores {
  desired: KV;
  status: KV;
  /** The connection the buckets were opened on (watches fetch from their consumers over it). */
  connection: NatsConnection;
  /**
   * Who provisioned JetStream: `install` (a node with NATS users: the admin did, agents only bind) or
   * `agents` (a development server without users: the agents create what they use, e.g. their buffer
   * streams with their own limits, through the same configurations).
   */
  provisionedBy: 'install' | 'agents';
}

const DAY_MS = 24 * 60 * 60 * 1000;
const NS_PER_MS = 1_000_000;
export const DEFAULT_BUFFER_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_BUFFER_MAX_AGE_MS = 7 * DAY_MS;

/** The event stream's configuration. */
export function eventStreamConfig(limits: JetStreamLimits = {}): StreamConfigWant {
  return {
    name: EVENT_STREAM,
    description: 'Outpost events (edge.<node>.<agent>.evt.>); never command subjects',
    subjects: EVENT_STREAM_SUBJECTS,
    max_age: (limits.eventMaxAgeMs ?? 7 * DAY_MS) * NS_PER_MS,
    max_bytes: limits.eventMaxBytes ?? 256 * 1024 * 1024,
    num_replicas: limits.replicas ?? 1,
  };
}

/**
 * The configuration of a stream an agent writes into (StreamGrant): file storage (survives restarts of
 * the agent and of nats-server), limits retention, the oldest dropped first; one subject, the node's.
 * Nothing else: no republish, sources, mirror or direct get.
 */
export function agentStreamConfig(
  grant: StreamGrant,
  nodeId: string,
  limits: JetStreamLimits = {},
): StreamConfigWant {
  const subject = grant.subject.replaceAll('{node}', assertToken('node id', nodeId));
  const maxAge = (limits.bufferMaxAgeMs ?? DEFAULT_BUFFER_MAX_AGE_MS) * NS_PER_MS;
  return {
    name: grant.stream,
    description: `Outpost: ${subject}, written by its agent (provisioned; the agent cannot reconfigure it)`,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_bytes: limits.bufferMaxBytes ?? DEFAULT_BUFFER_MAX_BYTES,
    max_age: maxAge,
    // The server's default window (2 min) may not exceed max_age.
    duplicate_window: Math.min(2 * 60_000 * NS_PER_MS, maxAge),
    num_replicas: limits.replicas ?? 1,
  };
}

/**
 * The durable pull consumer of one agent's watch of one literal KV key: filtered on the key, no deliver
 * subject (messages go only where a fetch asks for them), explicit acks so a batch fetched by a process
 * that died is delivered again.
 */
export function kvWatchConsumerConfig(
  nodeId: string,
  agent: AgentId,
  bucket: string,
  key: string,
): ConsumerConfigWant {
  return {
    durable_name: kvWatchConsumer(nodeId, agent, key),
    description: `Outpost: the ${agent} agent follows ${bucket} ${key}`,
    filter_subject: `$KV.${bucket}.${key}`,
    deliver_policy: DeliverPolicy.LastPerSubject,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 30_000 * NS_PER_MS,
    max_deliver: -1,
  };
}

export type StreamConfigWant = Partial<StreamConfig> & { name: string; subjects: string[] };
export type ConsumerConfigWant = Partial<ConsumerConfig> & { durable_name: string; filter_subject: string };

/** Every stream and KV watch consumer the table gives agents, for one node. */
export function agentAssets(
  nodeId: string,
  limits: JetStreamLimits = {},
  table: Readonly<Partial<Record<AgentId, AgentGrants>>> = AGENT_PERMISSIONS,
): { streams: StreamConfigWant[]; consumers: { stream: string; config: ConsumerConfigWant }[] } {
  const streams = new Map<string, StreamConfigWant>();
  const consumers = new Map<string, { stream: string; config: ConsumerConfigWant }>();
  for (const [agent, grants] of Object.entries(table) as [AgentId, AgentGrants][]) {
    for (const grant of grants.streams ?? [])
      streams.set(grant.stream, agentStreamConfig(grant, nodeId, limits));
    for (const { bucket, key, access } of grants.kv) {
      if (!access.includes('watch')) continue;
      const config = kvWatchConsumerConfig(nodeId, agent, bucket, key.replaceAll('{node}', nodeId));
      const id = `KV_${bucket}/${config.durable_name}`;
      if (consumers.has(id)) throw new Error(`two watches of ${agent} share the consumer ${id}`);
      consumers.set(id, { stream: `KV_${bucket}`, config });
    }
  }
  return { streams: [...streams.values()], consumers: [...consumers.values()] };
}

export async function provisionJetStream(
  nc: NatsConnection,
  options: ProvisionOptions,
): Promise<Pick<BusStores, 'desired' | 'status'>> {
  const jsm = await jetstreamManager(nc);
  if (options.events !== false) await ensureStream(jsm, eventStreamConfig(options));
  const stores = await provisionStores(nc, options.replicas ?? 1);
  const { streams, consumers } = agentAssets(options.nodeId, options, options.table);
  if (options.agentStreams ?? true)
    for (const want of streams) await ensureStream(jsm, want, { replaceForeign: true });
  for (const { stream, config } of consumers) await ensureConsumer(jsm, stream, config);
  return stores;
}

/**
 * The two KV buckets alone, without the event stream or the agents' assets: what a hub (domain hub)
 * provisions for its own services' status. An event stream on the hub would capture every node's live
 * events.
 */
export async function provisionStores(
  nc: NatsConnection,
  replicas = 1,
): Promise<Pick<BusStores, 'desired' | 'status'>> {
  const kvm = new Kvm(nc);
  const [desired, status] = await Promise.all([
    openOrCreateKv(kvm, KV_DESIRED, {
      history: 5,
      replicas,
      description: 'Outpost desired state: <nodeId>.<area>',
    }),
    openOrCreateKv(kvm, KV_STATUS, {
      history: 1,
      replicas,
      description: 'Outpost latest status: <nodeId>.<agent>',
    }),
  ]);
  return { desired, status };
}

/**
 * Creates a stream, or brings an existing one to `want`. With `replaceForeign`, a stream whose routing
 * differs from `want` (other subjects, a republish, sources or a mirror: what an agent that could once
 * create its own stream may have left) is deleted and created again; its messages go with it.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  want: StreamConfigWant,
  options: { replaceForeign?: boolean } = {},
): Promise<void> {
  let current: StreamConfig | undefined;
  try {
    current = (await jsm.streams.info(want.name)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (current && options.replaceForeign && routesElsewhere(current, want)) {
    await jsm.streams.delete(want.name).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    current = undefined;
  }
  if (!current) {
    try {
      await jsm.streams.add(want);
    } catch (addErr) {
      // Another process created it between our info and add: that is the idempotent outcome.
      if (!String((addErr as Error).message).includes('already in use')) throw addErr;
    }
    return;
  }
  const same =
    current.subjects?.join() === want.subjects.join() &&
    current.max_age === want.max_age &&
    current.max_bytes === want.max_bytes;
  if (!same) await jsm.streams.update(want.name, { ...current, ...want });
}

function routesElsewhere(current: StreamConfig, want: StreamConfigWant): boolean {
  return (
    current.subjects?.join() !== want.subjects.join() ||
    current.republish !== undefined ||
    (current.sources?.length ?? 0) > 0 ||
    current.mirror !== undefined
  );
}

/**
 * Creates a durable consumer, or replaces one of that name whose filter, deliver subject or ack policy
 * differs from `want` (deleted and created again).
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  want: ConsumerConfigWant,
): Promise<void> {
  try {
    const { config } = await jsm.consumers.info(stream, want.durable_name);
    const same =
      config.filter_subject === want.filter_subject &&
      config.deliver_subject === undefined &&
      config.ack_policy === want.ack_policy &&
      config.deliver_policy === want.deliver_policy;
    if (same) return;
    await jsm.consumers.delete(stream, want.durable_name).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await jsm.consumers.add(stream, want);
  } catch (addErr) {
    if (!/already (in use|exists)/.test(String((addErr as Error).message))) throw addErr;
  }
}

/** A bucket created with these settings, or the one already there (an operator's choice is kept). */
export async function openOrCreateKv(
  kvm: Kvm,
  bucket: string,
  opts: { history: number; replicas: number; description: string },
): Promise<KV> {
  try {
    return await kvm.create(bucket, opts);
  } catch (err) {
    // A bucket made earlier with other settings (an operator's choice) is used as it is.
    if (String((err as Error).message).includes('already in use')) return kvm.open(bucket);
    throw err;
  }
}

/** A bucket the agents need is not there: JetStream was not provisioned at install time. */
export class StoresMissingError extends Error {
  override readonly name = 'StoresMissingError';
}

/**
 * Binds to the provisioned KV buckets without any create right: one stream lookup per bucket
 * ($JS.API.STREAM.INFO.KV_<bucket>), reads by direct get on the key's subject (so read permissions can
 * name keys). A missing bucket is a StoresMissingError naming the install step.
 */
export async function openStores(
  nc: NatsConnection,
  provisionedBy: BusStores['provisionedBy'] = 'install',
): Promise<BusStores> {
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const kvm = new Kvm(nc);
  const open = async (bucket: string): Promise<KV> => {
    let allowDirect: boolean;
    try {
      allowDirect = (await jsm.streams.info(`KV_${bucket}`)).config.allow_direct === true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      throw new StoresMissingError(
        `JetStream KV bucket ${bucket} does not exist: provision JetStream at install time ` +
          '(node tools/scripts/nats-config.mjs --provision --out /etc/outpost/nats); agents do not create it',
      );
    }
    return kvm.open(bucket, { allow_direct: allowDirect });
  };
  const [desired, status] = await Promise.all([open(KV_DESIRED), open(KV_STATUS)]);
  return { desired, status, connection: nc, provisionedBy };
}

export function isNotFound(err: unknown): boolean {
  return /not found/i.test(String((err as Error)?.message ?? err));
}
