/**
 * The offline buffer of one sink: a JetStream stream on the node's server (file storage, so it
 * survives restarts of the agent and of the server) holding serialized export batches in the order
 * they were produced. Its byte and age limits drop the oldest batches first (discard old); the gap
 * between the sequence we expected to deliver next and the stream's first sequence tells how many
 * batches the limits dropped, which is counted. nats-server 2.9 has no per-message TTL; the stream's
 * max_age does the ageing. The stream is provisioned at install time with a fixed configuration
 * (@outpost/bus agentStreamConfig); the agent only publishes, reads (MSG.GET, STREAM.INFO) and deletes.
 */
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { agentStreamConfig, ensureStream, isNotFound, type JetStreamLimits } from '@outpost/bus';

export interface BufferState {
  stream: string;
  depth: number;
  bytes: number;
  dropped: number;
}

export interface BufferNames {
  stream: string;
  subject: string;
}

export class OfflineBuffer {
  private jsm?: JetStreamManager;
  private js?: JetStreamClient;
  /** The sequence of the oldest batch not delivered yet, as far as we know (undefined: unknown). */
  private cursor?: number;
  private dropped = 0;
  private depth = 0;
  private bytes = 0;
  /** The stream's limits as the server has them. */
  private limitsInForce?: { maxBytes: number; maxAgeMs: number };
  readonly stream: string;
  readonly subject: string;

  /**
   * `provision`: create the stream, or bring it to these limits, through the same configuration the
   * install step uses (only where the agents provision JetStream: a server without NATS users).
   * Without it the stream must exist: the agent holds no right to create or change it.
   */
  constructor(
    private readonly nc: NatsConnection,
    names: BufferNames,
    private readonly provision?: { nodeId: string; limits: JetStreamLimits },
  ) {
    this.stream = names.stream;
    this.subject = names.subject;
  }

  /** Binds to the stream (provisioned at install time), or provisions it in development. */
  async open(): Promise<void> {
    // No API check: it asks $JS.API.INFO, which a least-privilege user is not granted (docs/security.md).
    this.jsm = await jetstreamManager(this.nc, { checkAPI: false });
    this.js = jetstream(this.nc);
    if (this.provision) {
      const { nodeId, limits } = this.provision;
      const grant = { stream: this.stream, subject: this.subject };
      await ensureStream(this.jsm, agentStreamConfig(grant, nodeId, limits));
    }
    try {
      await this.refresh();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      throw new Error(
        `stream ${this.stream} does not exist: provision JetStream at install time ` +
          '(node tools/scripts/nats-config.mjs --provision); the agent does not create it',
      );
    }
  }

  /** The stream's byte and age limits in force (known once open). */
  get limits(): { maxBytes: number; maxAgeMs: number } | undefined {
    return this.limitsInForce;
  }

  /** Appends a batch at the end (only while the exporter is unreachable: one more round trip is fine). */
  async append(batch: Uint8Array): Promise<void> {
    const ack = await this.client().publish(this.subject, batch, { expect: { streamName: this.stream } });
    this.cursor ??= ack.seq;
    // The limits may have dropped older batches to make room: depth and bytes come from the stream.
    await this.refresh();
  }

  /** The oldest batch waiting, or undefined when the buffer is empty; counts what the limits dropped. */
  async oldest(): Promise<{ seq: number; data: Uint8Array } | undefined> {
    if (this.cursor !== undefined && this.depth > 0) {
      // Fast path while flushing: if the expected batch is still there, nothing before it was
      // dropped (everything older was delivered and removed by us).
      const next = await this.manager()
        .streams.getMessage(this.stream, { seq: this.cursor })
        .catch(() => null);
      if (next) return { seq: next.seq, data: next.data };
    }
    const state = await this.refresh();
    if (state.messages === 0) {
      if (this.cursor !== undefined && state.last_seq >= this.cursor)
        this.dropped += state.last_seq - this.cursor + 1;
      this.cursor = undefined;
      return undefined;
    }
    if (this.cursor !== undefined && state.first_seq > this.cursor)
      this.dropped += state.first_seq - this.cursor;
    this.cursor = state.first_seq;
    const msg = await this.manager().streams.getMessage(this.stream, { seq: state.first_seq });
    if (!msg) return undefined; // aged out between the two calls: the next call counts it
    return { seq: msg.seq, data: msg.data };
  }

  /** Removes a delivered batch (always the oldest); the next oldest() reads the stream state again. */
  async remove(seq: number, size: number): Promise<void> {
    await this.manager().streams.deleteMessage(this.stream, seq, false);
    this.cursor = seq + 1;
    this.depth = Math.max(0, this.depth - 1);
    this.bytes = Math.max(0, this.bytes - size);
  }

  get state(): BufferState {
    return { stream: this.stream, depth: this.depth, bytes: this.bytes, dropped: this.dropped };
  }

  get isEmpty(): boolean {
    return this.depth === 0;
  }

  private async refresh() {
    const info = await this.manager().streams.info(this.stream);
    this.limitsInForce = { maxBytes: info.config.max_bytes, maxAgeMs: info.config.max_age / 1_000_000 };
    this.depth = info.state.messages;
    this.bytes = info.state.bytes;
    return info.state;
  }

  private manager(): JetStreamManager {
    if (!this.jsm) throw new Error(`offline buffer ${this.stream} is not open`);
    return this.jsm;
  }

  private client(): JetStreamClient {
    if (!this.js) throw new Error(`offline buffer ${this.stream} is not open`);
    return this.js;
  }
}
