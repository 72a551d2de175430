/**
 * Fluent forward for logs, through @fluent-org/logger (maintained, unlike fluent-logger: a bounded
 * send queue, short reconnects, and acknowledgements, so a batch counts as delivered only once the
 * receiver acked every entry). A batch is the JSON array of the log entries (tag, time, record).
 * When the receiver is not connected or an ack does not come in time, the batch fails and goes to
 * the offline buffer; the client is then recreated, so the entries it still queued are not sent a
 * second time behind the buffer's back (at most the acked-but-unconfirmed window is repeated).
 */
import { FluentClient, FluentSocketEvent } from '@fluent-org/logger';
import type { Transport } from './buffered-sink.js';

export interface FluentEntry {
  tag: string;
  /** Milliseconds since the epoch. */
  timeMs: number;
  record: Record<string, unknown>;
}

const utf8 = new TextDecoder();

export class FluentForwardTransport implements Transport {
  readonly target: string;
  private client?: FluentClient;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {
    this.target = `${host}:${port}`;
  }

  async send(batch: Uint8Array): Promise<void> {
    const entries = JSON.parse(utf8.decode(batch)) as FluentEntry[];
    const client = this.connected();
    try {
      await this.untilWritable(client);
      await withTimeout(
        Promise.all(entries.map((e) => client.emit(e.tag, e.record, e.timeMs))),
        this.timeoutMs,
        `no ack from ${this.target} within ${this.timeoutMs} ms`,
      );
    } catch (err) {
      await this.drop();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.drop();
  }

  private connected(): FluentClient {
    this.client ??= new FluentClient(null, {
      socket: {
        host: this.host,
        port: this.port,
        timeout: this.timeoutMs,
        reconnect: { delay: 100, minDelay: 100, maxDelay: 2000 },
      },
      ack: { ackTimeout: this.timeoutMs },
      milliseconds: true,
      sendQueueMaxLimit: { length: 10_000 },
      disconnect: { waitForPending: false, socketDisconnectDelay: 0 },
    });
    return this.client;
  }

  private async untilWritable(client: FluentClient): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    while (!client.writable) {
      if (Date.now() > deadline) throw new Error(`${this.target} is not reachable`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    client?.socketOn(FluentSocketEvent.ERROR, () => undefined);
    await client?.shutdown().catch(() => undefined);
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
