/**
 * Typed requests and events over the bus, for agents and tools alike. A request names a catalog
 * entry; the reply is decoded strictly and an error reply comes back as the ContractError it was.
 * While the server is briefly away (a restart of the node's nats-server) or the responder has not
 * resubscribed yet, the request is retried within its deadline; when the deadline passes it fails
 * with a typed DEADLINE_EXCEEDED or UNAVAILABLE, never with a bare string.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { create, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import {
  errors as natsErrors,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type PermissionViolationError,
} from '@nats-io/nats-core';
import {
  ContractError,
  decode,
  encode,
  errorCodeFromHttp,
  ErrorCode,
  ErrorReplySchema,
  type CommandDef,
  type EventDef,
} from '@outpost/contracts';
import {
  busTracer,
  commandSpanAttributes,
  endSpan,
  ensureTraceContextManager,
  injectTraceContext,
  SpanKind,
} from './trace.js';

export interface RequestOptions {
  /** Node to address; default the client's own node. */
  nodeId?: string;
  /** Deadline for the whole request including retries, ms (default 5000). */
  timeoutMs?: number;
}

export interface BusClientOptions {
  nodeId: string;
  defaultTimeoutMs?: number;
}

const RETRY_FIRST_MS = 25;
const RETRY_MAX_MS = 500;

export class BusClient {
  /** Whether the connection is up, as its status events last said. */
  private connected: boolean;
  /** Settles when the connection is back; replaced after each reconnect. */
  private reconnected = Promise.withResolvers<void>();
  /** Requests in flight, told when the connection drops (each removes itself when it settles). */
  private readonly onDisconnect = new Set<() => void>();

  constructor(
    readonly connection: NatsConnection,
    private readonly options: BusClientOptions,
  ) {
    ensureTraceContextManager();
    this.connected = !connection.isClosed();
    void this.watchConnection();
  }

  private async watchConnection(): Promise<void> {
    if (this.connection.isClosed()) return;
    for await (const status of this.connection.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        for (const notify of this.onDisconnect) notify();
      } else if (status.type === 'reconnect') {
        this.connected = true;
        this.reconnected.resolve();
        this.reconnected = Promise.withResolvers<void>();
      }
    }
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  async request<D extends CommandDef>(
    def: D,
    body: MessageInitShape<D['request']> = {} as MessageInitShape<D['request']>,
    opts: RequestOptions = {},
  ): Promise<MessageShape<D['reply']>> {
    const subject = def.subject(opts.nodeId ?? this.options.nodeId);
    const payload = encode(def.request, create(def.request, body));
    // One CLIENT span per request (retries included); the traceparent sent names it as the parent.
    return busTracer().startActiveSpan(
      `${def.agent}/${def.name}`,
      { kind: SpanKind.CLIENT, attributes: commandSpanAttributes(subject, def.agent, def.name) },
      async (span) => {
        try {
          const msg = await this.requestRaw(
            subject,
            payload,
            opts.timeoutMs ?? this.options.defaultTimeoutMs ?? 5000,
          );
          const error = errorFromReply(msg, subject);
          if (error) throw error;
          try {
            const reply = decode(def.reply, msg.data) as MessageShape<D['reply']>;
            endSpan(span);
            return reply;
          } catch (err) {
            throw new ContractError(
              ErrorCode.INTERNAL,
              `malformed reply on ${subject}: ${(err as Error).message}`,
              [],
              subject,
            );
          }
        } catch (err) {
          endSpan(span, err);
          throw err;
        }
      },
    );
  }

  /** Sends bytes and waits for the reply, retrying while nobody can answer yet. */
  async requestRaw(subject: string, payload: Uint8Array, timeoutMs: number, headers?: MsgHdrs): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    let backoff = RETRY_FIRST_MS;
    let lastReason = 'no attempt';
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new ContractError(
          ErrorCode.DEADLINE_EXCEEDED,
          `no reply on ${subject} within ${timeoutMs} ms (${lastReason})`,
          [],
          subject,
        );
      }
      if (this.connection.isClosed() || this.connection.isDraining()) {
        throw new ContractError(
          ErrorCode.UNAVAILABLE,
          `bus connection is closed: ${subject} not sent`,
          [],
          subject,
        );
      }
      if (!this.connected) {
        // The client drops what it buffered on every dial attempt: send only once the link is back.
        lastReason = 'bus disconnected';
        await this.untilReconnected(deadline);
        continue;
      }
      try {
        const outcome = await this.attempt(subject, payload, remaining, headers);
        if (outcome !== 'disconnected') return outcome;
        lastReason = 'connection lost';
        continue;
      } catch (err) {
        if (err instanceof natsErrors.TimeoutError) {
          lastReason = 'timed out';
          continue;
        }
        if (
          err instanceof natsErrors.ClosedConnectionError ||
          err instanceof natsErrors.DrainingConnectionError
        ) {
          throw new ContractError(
            ErrorCode.UNAVAILABLE,
            `bus connection is closed: ${subject} not sent`,
            [],
            subject,
          );
        }
        const denied = permissionViolation(err);
        if (denied) {
          // The server refused this user the subject: retrying cannot help.
          throw new ContractError(ErrorCode.PERMISSION_DENIED, denied.message, [], subject);
        }
        lastReason = isNoResponders(err) ? 'no responders' : String((err as Error).message ?? err);
        const wait = Math.min(backoff, deadline - Date.now());
        if (wait <= 0) continue;
        await sleep(wait);
        backoff = Math.min(backoff * 2, RETRY_MAX_MS);
      }
    }
  }

  /**
   * One request; 'disconnected' if the connection drops before the reply comes (the request may have
   * been lost with the server, so the caller sends it again once the connection is back).
   */
  private async attempt(subject: string, payload: Uint8Array, timeout: number, headers?: MsgHdrs) {
    const request = this.connection.request(subject, payload, {
      timeout,
      headers: injectTraceContext(headers),
    });
    let notify!: () => void;
    const lost = new Promise<'disconnected'>((resolve) => (notify = () => resolve('disconnected')));
    this.onDisconnect.add(notify);
    try {
      const outcome = await Promise.race([request, lost]);
      if (outcome === 'disconnected') request.catch(() => undefined);
      return outcome;
    } finally {
      this.onDisconnect.delete(notify);
    }
  }

  private async untilReconnected(deadline: number): Promise<void> {
    const giveUp = new AbortController();
    await Promise.race([
      this.reconnected.promise,
      sleep(Math.max(0, deadline - Date.now()), undefined, { signal: giveUp.signal }).catch(() => undefined),
    ]);
    giveUp.abort();
  }

  /** Publishes an event of the catalog, carrying the active trace context. */
  publish<D extends EventDef>(
    def: D,
    body: MessageShape<D['schema']> | MessageInitShape<D['schema']>,
    nodeId?: string,
  ): void {
    const message =
      (body as { $typeName?: string }).$typeName === def.schema.typeName
        ? body
        : create(def.schema, body as never);
    this.connection.publish(
      def.subject(nodeId ?? this.options.nodeId),
      encode(def.schema, message as never),
      {
        headers: injectTraceContext(),
      },
    );
  }
}

/** The server's refusal, whether thrown as it is or wrapped in the request's RequestError (nats.js 3.4). */
function permissionViolation(err: unknown): PermissionViolationError | undefined {
  if (err instanceof natsErrors.PermissionViolationError) return err;
  const cause = (err as Error | undefined)?.cause;
  return cause instanceof natsErrors.PermissionViolationError ? cause : undefined;
}

function isNoResponders(err: unknown): boolean {
  if (err instanceof natsErrors.RequestError) return err.isNoResponders();
  return err instanceof natsErrors.NoRespondersError;
}

/** The typed error an error reply carries, or undefined for a normal reply. */
export function errorFromReply(msg: Msg, subject: string): ContractError | undefined {
  const code = msg.headers?.get('Nats-Service-Error-Code');
  if (!code) return undefined;
  try {
    const reply = decode(ErrorReplySchema, msg.data);
    if (reply.code !== ErrorCode.UNSPECIFIED) return ContractError.fromReply(reply);
  } catch {
    // Not an Outpost error body: the micro headers are all there is.
  }
  const description = msg.headers?.get('Nats-Service-Error') || `error ${code}`;
  return new ContractError(errorCodeFromHttp(Number(code)), description, [], subject);
}
