/**
 * The fleet service's durable state, in the hub's own JetStream (domain hub), so it survives kill -9 of
 * the service and a restart of the hub: KV fleet_state holds every rollout (rollout.<id>) and the hub's
 * label overrides of each node (labels.<nodeId>), each value versioned ({version: 1, data}) and gzipped
 * (a 10,000-node rollout is ~1.5 MB of JSON, over the 1 MiB a NATS message may be by default). The bucket
 * fleet_leases, created here too, holds the rollout leases the nodes' orchestrators take through their
 * leaf links. Writes are serialised by the service; a put replaces the whole record.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm, type KV } from '@nats-io/kv';
import { openOrCreateKv } from '@outpost/bus';
import { fleetKeys, KV_FLEET_LEASES, KV_FLEET_STATE } from '@outpost/contracts';
import type { RolloutRecord } from '../domain/rollout.js';

const VALUE_VERSION = 1;
const utf8 = new TextDecoder();

interface Stored<T> {
  version: number;
  data: T;
}

export interface LoadedState {
  rollouts: RolloutRecord[];
  labels: Map<string, Record<string, string>>;
}

export class FleetStateStore {
  private constructor(private readonly kv: KV) {}

  /** Opens (creating when missing) fleet_state and fleet_leases on the hub. */
  static async open(nc: NatsConnection, replicas: number): Promise<FleetStateStore> {
    const kvm = new Kvm(nc);
    const [state] = await Promise.all([
      openOrCreateKv(kvm, KV_FLEET_STATE, {
        history: 5,
        replicas,
        description: 'Outpost fleet: rollouts and label overrides',
      }),
      openOrCreateKv(kvm, KV_FLEET_LEASES, {
        history: 1,
        replicas,
        description: 'Outpost fleet: rollout leases',
      }),
    ]);
    return new FleetStateStore(state);
  }

  async load(): Promise<LoadedState> {
    const rollouts: RolloutRecord[] = [];
    const labels = new Map<string, Record<string, string>>();
    const keys = new Set<string>();
    for await (const key of await this.kv.keys()) keys.add(key);
    for (const key of keys) {
      const entry = await this.kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      const stored = JSON.parse(utf8.decode(unpack(entry.value))) as Stored<unknown>;
      if (stored.version !== VALUE_VERSION)
        throw new Error(
          `${KV_FLEET_STATE} ${key} has version ${stored.version}; this service reads ${VALUE_VERSION}`,
        );
      if (key.startsWith('rollout.')) rollouts.push(stored.data as RolloutRecord);
      else if (key.startsWith('labels.'))
        labels.set(key.slice('labels.'.length), stored.data as Record<string, string>);
    }
    return { rollouts, labels };
  }

  async saveRollout(r: RolloutRecord): Promise<void> {
    await this.kv.put(fleetKeys.rollout(r.id), pack({ version: VALUE_VERSION, data: r }));
  }

  /** Creates the rollout's key; false when a rollout of that id exists. */
  async createRollout(r: RolloutRecord): Promise<boolean> {
    try {
      await this.kv.create(fleetKeys.rollout(r.id), pack({ version: VALUE_VERSION, data: r }));
      return true;
    } catch (err) {
      if (/wrong last sequence|key exists/i.test(String((err as Error).message))) return false;
      throw err;
    }
  }

  async saveLabels(nodeId: string, overrides: Record<string, string>): Promise<void> {
    await this.kv.put(fleetKeys.labels(nodeId), pack({ version: VALUE_VERSION, data: overrides }));
  }
}

function pack(value: Stored<unknown>): Uint8Array {
  return gzipSync(JSON.stringify(value));
}

/** Gzipped JSON (a value written by this store), or plain JSON (one an operator put by hand). */
function unpack(bytes: Uint8Array): Uint8Array {
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
}
