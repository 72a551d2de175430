/**
 * What outpostctl knows about a fleet, read from the bus only: the latest status every agent keeps in
 * KV edge_status, the desired state in KV edge_desired, the event stream EDGE_EVENTS (the last
 * heartbeat of a node), the micro services answering $SRV.INFO (who is alive now) and the agents'
 * commands (through BusClient, typed by the catalog). Every value is decoded strictly by its contract.
 */
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { BusClient } from '@outpost/bus';
import {
  AgentStatusSchema,
  ContractError,
  decode,
  ErrorCode,
  EVENT_STREAM,
  HeartbeatSchema,
  HUB_DOMAIN,
  type KV_FLEET_LEASES,
  isAgentId,
  isHubServiceId,
  type KV_DESIRED,
  KV_STATUS,
  kvKeys,
  NodeApi,
  type AgentStatus,
  type CommandDef,
  type Heartbeat,
} from '@outpost/contracts';
import { CtlError, EXIT, notFound } from './exit-codes.js';

/** One micro service instance, as $SRV.INFO tells it. */
export interface ServiceInfo {
  name: string;
  id: string;
  version: string;
  nodeId: string;
  agent: string;
  endpoints: number;
}

const utf8 = new TextDecoder();

/** The least time a key listing gets (more with a longer --timeout). */
const LIST_KEYS_MIN_MS = 15_000;

export class Fleet {
  readonly client: BusClient;
  private kvs = new Map<string, Promise<KV>>();
  private jsm?: Promise<JetStreamManager>;
  private services?: Promise<ServiceInfo[]>;

  constructor(
    readonly nc: NatsConnection,
    /** Deadline of one request to an agent, ms. */
    readonly timeoutMs: number,
  ) {
    this.client = new BusClient(nc, { nodeId: 'outpostctl', defaultTimeoutMs: timeoutMs });
  }

  /** A bucket; a missing one means no Outpost agent ever ran against this server. */
  kv(bucket: typeof KV_STATUS | typeof KV_DESIRED | typeof KV_FLEET_LEASES): Promise<KV> {
    let kv = this.kvs.get(bucket);
    if (!kv) {
      kv = new Kvm(this.nc).open(bucket).catch((err: unknown) => {
        throw bucketError(bucket, err);
      });
      this.kvs.set(bucket, kv);
    }
    return kv;
  }

  async keys(
    bucket: typeof KV_STATUS | typeof KV_DESIRED | typeof KV_FLEET_LEASES,
    filter: string,
  ): Promise<string[]> {
    const kv = await this.kv(bucket);
    // A Set: keys() lists through a consumer that also delivers keys written while it lists, so a
    // status key updated meanwhile would come twice.
    const out = new Set<string>();
    const lister = await kv.keys(filter);
    // The listing ends when its consumer reports nothing pending; bounded all the same, so that a
    // listing that never hears so ends the command with a message instead of hanging it.
    const limitMs = Math.max(this.timeoutMs, LIST_KEYS_MIN_MS);
    const timer = setTimeout(
      () => lister.stop(new Error(`listing ${bucket} ${filter} did not finish within ${limitMs} ms`)),
      limitMs,
    );
    try {
      for await (const key of lister) out.add(key);
    } finally {
      clearTimeout(timer);
    }
    return [...out].sort();
  }

  async entry(
    bucket: typeof KV_STATUS | typeof KV_DESIRED | typeof KV_FLEET_LEASES,
    key: string,
  ): Promise<KvEntry | undefined> {
    const entry = await (await this.kv(bucket)).get(key);
    return entry && entry.operation === 'PUT' ? entry : undefined;
  }

  /** A status value decoded by its contract; undefined if absent. A malformed one is an error. */
  async status<S extends DescMessage>(schema: S, key: string): Promise<MessageShape<S> | undefined> {
    const entry = await this.entry(KV_STATUS, key);
    if (!entry) return undefined;
    try {
      return decode(schema, entry.value);
    } catch (err) {
      throw new CtlError(
        EXIT.ERROR,
        `KV ${KV_STATUS} ${key} is not a ${schema.typeName}: ${(err as Error).message}`,
      );
    }
  }

  /** Every node seen on the bus: a node-agent status in KV, or a service answering discovery now. */
  async nodeIds(): Promise<string[]> {
    const fromKv = (await this.keys(KV_STATUS, '*.node')).map((k) => k.split('.')[0]);
    const live = (await this.liveServices()).map((s) => s.nodeId).filter(Boolean);
    return [...new Set([...fromKv, ...live])].sort();
  }

  /** Fails with exit code 3 (and what to do) unless the node was seen on the bus. */
  async requireNode(nodeId: string): Promise<void> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) {
      throw new CtlError(EXIT.USAGE, `"${nodeId}" is not a node id (1-64 of A-Z a-z 0-9 _ -)`);
    }
    const seen =
      (await this.keys(KV_STATUS, kvKeys.statuses(nodeId))).length > 0 ||
      (await this.liveServices()).some((s) => s.nodeId === nodeId);
    if (!seen) {
      throw notFound(
        `no such node: ${nodeId} (no agent of it ever reported on this bus)`,
        '`outpostctl nodes` lists the nodes seen on the bus',
      );
    }
  }

  /** The latest status of every agent of a node (KV edge_status <node>.<agent>). */
  async agentStatuses(nodeId: string): Promise<AgentStatus[]> {
    // A node's agents; on the hub (node id "hub"), its services.
    const keys = (await this.keys(KV_STATUS, kvKeys.statuses(nodeId))).filter((k) => {
      const id = k.split('.')[1] ?? '';
      return isAgentId(id) || isHubServiceId(id);
    });
    const out: AgentStatus[] = [];
    for (const key of keys) {
      const s = await this.status(AgentStatusSchema, key);
      if (s) out.push(s);
    }
    return out;
  }

  /** The node's last heartbeat kept by the event stream. */
  async lastHeartbeat(nodeId: string): Promise<Heartbeat | undefined> {
    this.jsm ??= jetstreamManager(this.nc);
    const jsm = await this.jsm;
    try {
      const msg = await jsm.streams.getMessage(EVENT_STREAM, {
        last_by_subj: NodeApi.evt.heartbeat.subject(nodeId),
      });
      return msg ? decode(HeartbeatSchema, msg.data) : undefined;
    } catch (err) {
      if (/no message found|not found/i.test(String((err as Error).message))) return undefined;
      throw err;
    }
  }

  /** Every micro service answering $SRV.INFO now (once per run). */
  liveServices(): Promise<ServiceInfo[]> {
    this.services ??= this.discover();
    return this.services;
  }

  private async discover(): Promise<ServiceInfo[]> {
    const out: ServiceInfo[] = [];
    const replies = await this.nc.requestMany('$SRV.INFO', '', {
      strategy: 'stall',
      stall: 300,
      maxWait: Math.min(this.timeoutMs, 3000),
    });
    for await (const m of replies) {
      try {
        const info = JSON.parse(utf8.decode(m.data)) as {
          name?: string;
          id?: string;
          version?: string;
          metadata?: Record<string, string>;
          endpoints?: unknown[];
        };
        out.push({
          name: info.name ?? '',
          id: info.id ?? '',
          version: info.version ?? '',
          nodeId: info.metadata?.node_id ?? '',
          agent: info.metadata?.agent ?? '',
          endpoints: info.endpoints?.length ?? 0,
        });
      } catch {
        // Not a micro service reply: ignored, as `nats micro ls` does.
      }
    }
    return out.sort((a, b) => a.nodeId.localeCompare(b.nodeId) || a.name.localeCompare(b.name));
  }

  /** Whether this is a hub: its fleet service (node id "hub") answers discovery. */
  async isHub(): Promise<boolean> {
    return this.isLive(HUB_DOMAIN, 'fleet');
  }

  /** Whether the agent of a node answers discovery now (a command to it can be answered). */
  async isLive(nodeId: string, agent: string): Promise<boolean> {
    return (await this.liveServices()).some((s) => s.nodeId === nodeId && s.agent === agent);
  }

  /** A command when its agent is alive, else undefined (the caller falls back to the KV copy). */
  /** A command with a body, to a node's agent or a hub service (nodeId "hub"); a typed error throws. */
  request<D extends CommandDef>(
    def: D,
    body: MessageInitShape<D['request']>,
    nodeId: string,
  ): Promise<MessageShape<D['reply']>> {
    return this.client.request(def, body, { nodeId });
  }

  async ask<D extends CommandDef>(def: D, nodeId: string): Promise<MessageShape<D['reply']> | undefined> {
    if (!(await this.isLive(nodeId, def.agent))) return undefined;
    try {
      return await this.client.request(def, {} as never, { nodeId });
    } catch (err) {
      if (err instanceof ContractError && err.code === ErrorCode.DEADLINE_EXCEEDED) return undefined;
      throw err;
    }
  }
}

function bucketError(bucket: string, err: unknown): Error {
  const text = String((err as Error)?.message ?? err);
  if (/not found/i.test(text)) {
    return notFound(
      `KV bucket ${bucket} does not exist on this server: no Outpost agent has run against it`,
      'point outpostctl at the server the agents use (--server, --context or $NATS_URL)',
    );
  }
  return err as Error;
}
