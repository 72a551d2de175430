/**
 * A watch of one KV key that outlives server restarts: when the watch ends or fails it is opened again
 * after a pause, until stopped. One key per watch, because nats-server 2.9 cannot watch a key list.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KV, KvWatchEntry } from '@nats-io/kv';

export interface KeyWatch {
  /** Ends the watch and waits for the entry being handled, if any. */
  stop(): Promise<void>;
}

export interface KeyWatchOptions {
  /** Told when the watch fails (it is opened again after `rewatchMs`). */
  onError?: (err: unknown) => void;
  /** Pause before watching again after a failure, ms (default 1000). */
  rewatchMs?: number;
}

export function watchKey(
  kv: KV,
  key: string,
  onEntry: (entry: KvWatchEntry) => void | Promise<void>,
  options: KeyWatchOptions = {},
): KeyWatch {
  let closed = false;
  let stopCurrent: (() => void) | undefined;
  const running = (async () => {
    while (!closed) {
      try {
        const watcher = await kv.watch({ key });
        stopCurrent = () => watcher.stop();
        if (closed) watcher.stop();
        for await (const entry of watcher) await onEntry(entry);
      } catch (err) {
        if (!closed) options.onError?.(err);
      }
      if (!closed) await sleep(options.rewatchMs ?? 1_000);
    }
  })();
  return {
    async stop() {
      closed = true;
      stopCurrent?.();
      await running;
    },
  };
}
