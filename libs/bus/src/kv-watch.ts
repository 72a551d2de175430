/**
 * A watch of one KV key that outlives server restarts, without any right to create a consumer: it
 * reads the key's current value (a direct get), then takes every later change from the durable pull
 * consumer the admin provisioned for this agent and key (kvWatchConsumer, created by
 * provisionJetStream), fetching ($JS.API.CONSUMER.MSG.NEXT) and acking each change once handled. A
 * change delivered to a process that died is delivered again after the consumer's ack wait; changes at
 * or below the revision already handled are acked and skipped, so the handler sees each revision at
 * most once per watch, in order. When the watch fails it starts again (read, then fetch) after a pause,
 * until stopped. One key per watch, because nats-server 2.9 cannot filter a consumer on a key list.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { KvEntry } from '@nats-io/kv';
import { KV_DESIRED, type KV_STATUS, kvWatchConsumer, type ServiceId } from '@outpost/contracts';
import type { BusStores } from './jetstream.js';

export interface KeyWatch {
  /** Ends the watch and waits for the entry being handled, if any. */
  stop(): Promise<void>;
}

/** One value of the watched key, or its deletion. */
export interface KeyEntry {
  key: string;
  value: Uint8Array;
  /** The KV revision (the stream sequence). */
  revision: number;
  operation: 'PUT' | 'DEL' | 'PURGE';
}

export interface KeyWatchOptions {
  /** Told when the watch fails (it is opened again after `rewatchMs`). */
  onError?: (err: unknown) => void;
  /** Pause before watching again after a failure, ms (default 1000). */
  rewatchMs?: number;
}

export interface WatchedKey {
  bucket: typeof KV_DESIRED | typeof KV_STATUS;
  /** A literal key (no wildcards): it names the provisioned consumer. */
  key: string;
  /** The node and agent whose watch this is (the consumer is per node, agent and key). */
  nodeId: string;
  agent: ServiceId;
}

export function watchKey(
  stores: BusStores,
  watched: WatchedKey,
  onEntry: (entry: KeyEntry) => void | Promise<void>,
  options: KeyWatchOptions = {},
): KeyWatch {
  const { bucket, key, agent, nodeId } = watched;
  const kv = bucket === KV_DESIRED ? stores.desired : stores.status;
  const prefix = `$KV.${bucket}.`;
  let closed = false;
  let handled = 0;
  let messages: ConsumerMessages | undefined;
  const deliver = async (entry: KeyEntry) => {
    if (entry.revision <= handled) return;
    await onEntry(entry);
    handled = entry.revision;
  };
  const running = (async () => {
    while (!closed) {
      try {
        const current = await kv.get(key);
        if (current) await deliver(fromKvEntry(current));
        const consumer = await jetstream(stores.connection).consumers.get(
          `KV_${bucket}`,
          kvWatchConsumer(nodeId, agent, key),
        );
        messages = await consumer.consume({ max_messages: 16 });
        if (closed) messages.stop();
        for await (const m of messages) {
          await deliver(fromJsMsg(m, prefix));
          m.ack();
        }
      } catch (err) {
        if (!closed) options.onError?.(err);
      }
      if (!closed) await sleep(options.rewatchMs ?? 1_000);
    }
  })();
  return {
    async stop() {
      closed = true;
      messages?.stop();
      await running;
    },
  };
}

function fromKvEntry(e: KvEntry): KeyEntry {
  return { key: e.key, value: e.value, revision: e.revision, operation: e.operation };
}

function fromJsMsg(m: JsMsg, prefix: string): KeyEntry {
  const op = m.headers?.get('KV-Operation');
  return {
    key: m.subject.slice(prefix.length),
    value: m.data,
    revision: m.seq,
    operation: op === 'DEL' || op === 'PURGE' ? op : 'PUT',
  };
}
