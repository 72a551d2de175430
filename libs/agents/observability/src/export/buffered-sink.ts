/**
 * Ordered, loss-free delivery of export batches to one destination. While the destination answers,
 * a batch goes straight to it; when a delivery fails (unreachable, timeout, 5xx), that batch and
 * every later one go to the offline buffer, and a retry timer sends the buffered batches oldest
 * first, each removed only after the destination accepted it. Once the buffer is empty, batches go
 * straight again. One queue serialises submissions and flushes, so the order never changes.
 */
import { SerialQueue } from '@outpost/agent-runtime';
import type { BufferState, OfflineBuffer } from './offline-buffer.js';

/** A destination: resolves when it accepted the batch; rejects with a RejectedBatch to drop it. */
export interface Transport {
  readonly target: string;
  send(batch: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** The destination refused this batch for good (e.g. HTTP 400): retrying cannot help. */
export class RejectedBatch extends Error {}

export type SinkState = 'up' | 'buffering';

export interface SinkReport {
  name: string;
  target: string;
  state: SinkState;
  lastError: string;
  delivered: number;
  rejected: number;
  buffer: BufferState;
}

export class BufferedSink {
  private state: SinkState = 'up';
  private readonly queue = new SerialQueue();
  private retry?: NodeJS.Timeout;
  private closed = false;
  private lastError = '';
  private delivered = 0;
  private rejected = 0;

  constructor(
    readonly name: string,
    private readonly transport: Transport,
    private readonly buffer: OfflineBuffer,
    private readonly retryMs: number,
    private readonly onChange: (name: string, state: SinkState, error: string) => void = () => undefined,
  ) {}

  /** Starts flushing what a previous run left in the buffer. */
  start(): void {
    if (!this.buffer.isEmpty) this.enterBuffering('batches left from a previous run');
  }

  /** Resolves once the batch is delivered or safely buffered. */
  submit(batch: Uint8Array): Promise<void> {
    return this.queue.run(async () => {
      if (this.state === 'up' && this.buffer.isEmpty) {
        try {
          await this.deliver(batch);
          return;
        } catch (err) {
          if (err instanceof RejectedBatch) return;
          this.enterBuffering((err as Error).message);
        }
      }
      await this.buffer.append(batch);
    });
  }

  /** Sends buffered batches until the buffer is empty or a delivery fails. */
  flush(): Promise<void> {
    return this.queue.run(async () => {
      for (;;) {
        if (this.closed) return;
        const oldest = await this.buffer.oldest();
        if (!oldest) {
          this.setState('up', '');
          return;
        }
        try {
          await this.deliver(oldest.data);
        } catch (err) {
          if (!(err instanceof RejectedBatch)) {
            this.lastError = (err as Error).message;
            this.schedule();
            return;
          }
        }
        await this.buffer.remove(oldest.seq, oldest.data.length);
      }
    });
  }

  /** Stops retrying; what is buffered stays in the stream for the next configuration or run. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.queue.idle();
    await this.transport.close();
  }

  get report(): SinkReport {
    return {
      name: this.name,
      target: this.transport.target,
      state: this.state,
      lastError: this.lastError,
      delivered: this.delivered,
      rejected: this.rejected,
      buffer: this.buffer.state,
    };
  }

  private async deliver(batch: Uint8Array): Promise<void> {
    try {
      await this.transport.send(batch);
      this.delivered++;
    } catch (err) {
      if (err instanceof RejectedBatch) {
        this.rejected++;
        this.lastError = err.message;
      }
      throw err;
    }
  }

  private enterBuffering(reason: string): void {
    this.setState('buffering', reason);
    this.schedule();
  }

  private setState(state: SinkState, error: string): void {
    if (error) this.lastError = error;
    if (state === this.state) return;
    this.state = state;
    this.onChange(this.name, state, error);
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(
      () => void this.flush().catch((err: unknown) => this.retryLater(err)),
      this.retryMs,
    );
    this.retry.unref();
  }

  private retryLater(err: unknown): void {
    this.lastError = `offline buffer: ${(err as Error).message}`;
    this.schedule();
  }
}
