/**
 * Idempotent provisioning of the suite's JetStream assets: the event stream (evt subjects only, with
 * limits so an offline node keeps recent events without filling its disk) and the KV buckets for
 * desired and observed state. Safe to run concurrently; on a node with NATS users it runs once at
 * install time as the admin (tools/scripts/nats-config.mjs --provision), and agents only bind (openStores).
 * Only features of nats-server 2.9 are used (the Debian server here is 2.9.10).
 */
import { jetstreamManager, type StreamConfig, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { EVENT_STREAM, EVENT_STREAM_SUBJECTS, KV_DESIRED, KV_STATUS } from '@outpost/contracts';

export interface JetStreamLimits {
  /** Oldest event kept, ms (default 7 days). */
  eventMaxAgeMs?: number;
  /** Bytes of events kept (default 256 MiB); the oldest go first. */
  eventMaxBytes?: number;
  /** Replicas: 1 on a node; 3 on a hub cluster. */
  replicas?: number;
}

export interface BusStores {
  desired: KV;
  status: KV;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export async function provisionJetStream(
  nc: NatsConnection,
  limits: JetStreamLimits = {},
): Promise<BusStores> {
  const jsm = await jetstreamManager(nc);
  await ensureEventStream(jsm, limits);
  return provisionStores(nc, limits.replicas ?? 1);
}

/**
 * The two KV buckets alone, without the event stream: what a hub (domain hub) provisions for its own
 * services' status. An event stream on the hub would capture every node's live events.
 */
export async function provisionStores(nc: NatsConnection, replicas = 1): Promise<BusStores> {
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

async function ensureEventStream(jsm: JetStreamManager, limits: JetStreamLimits): Promise<void> {
  const want: Partial<StreamConfig> & { name: string } = {
    name: EVENT_STREAM,
    description: 'Outpost events (edge.<node>.<agent>.evt.>); never command subjects',
    subjects: EVENT_STREAM_SUBJECTS,
    max_age: (limits.eventMaxAgeMs ?? 7 * DAY_MS) * 1_000_000,
    max_bytes: limits.eventMaxBytes ?? 256 * 1024 * 1024,
    num_replicas: limits.replicas ?? 1,
  };
  try {
    const info = await jsm.streams.info(EVENT_STREAM);
    const current = info.config;
    const same =
      current.subjects?.join() === want.subjects?.join() &&
      current.max_age === want.max_age &&
      current.max_bytes === want.max_bytes;
    if (!same) await jsm.streams.update(EVENT_STREAM, { ...current, ...want });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(want);
    } catch (addErr) {
      // Another agent created it between our info and add: that is the idempotent outcome.
      if (!String((addErr as Error).message).includes('already in use')) throw addErr;
    }
  }
}

async function openOrCreateKv(
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
export async function openStores(nc: NatsConnection): Promise<BusStores> {
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
  return { desired, status };
}

function isNotFound(err: unknown): boolean {
  return /not found/i.test(String((err as Error)?.message ?? err));
}
