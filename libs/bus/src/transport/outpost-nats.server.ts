/**
 * The Nest transport strategy of every agent. It replaces Nest's NATS transport, whose codec wraps
 * requests as {pattern,data,id} and drops requests without an id, so `nats req` would never be
 * answered. Here the body on the wire is the message itself, in proto3 JSON, both ways:
 *   - each @Command handler listens on edge.<nodeId>.<agent>.cmd.<verb> in the agent's queue group;
 *   - the request is decoded strictly with the catalog's schema; a bad payload is answered with a
 *     typed ErrorReply and the micro error headers, and the agent keeps serving;
 *   - the handler runs inside a SERVER span, child of the request's W3C trace context;
 *   - counts and processing times feed the micro protocol ($SRV.PING|INFO|STATS);
 *   - close() drains: no new requests, those in flight are answered, then discovery stops;
 *   - a message JetStream delivered onto the subject is never taken for a command or an event (see
 *     deliveredByJetStream).
 */
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { LoggerService } from '@nestjs/common';
import { context, trace as otelTrace } from '@opentelemetry/api';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { lastValueFrom } from 'rxjs';
import { create, type DescMessage } from '@bufbuild/protobuf';
import {
  catalogEntry,
  ContractError,
  decode,
  encode,
  ErrorCode,
  ErrorReplySchema,
  httpCodeOf,
  type ServiceId,
  type CommandDef,
  type EventDef,
} from '@outpost/contracts';
import { MicroService, type EndpointStats } from '../micro.js';
import {
  busTracer,
  commandSpanAttributes,
  endSpan,
  ensureTraceContextManager,
  extractTraceContext,
  SpanKind,
} from '../trace.js';
import { OutpostRpcContext } from './rpc-context.js';

export interface OutpostNatsServerOptions {
  connection: NatsConnection;
  nodeId: string;
  agent: ServiceId;
  /** SemVer of the agent, shown by `nats micro ls`. */
  version: string;
  description?: string;
  logger: LoggerService;
  /** Queue group shared by every instance of this agent on the node; default outpost.<agent>. */
  queue?: string;
}

export class OutpostNatsServer extends Server implements CustomTransportStrategy {
  override readonly transportId = Symbol.for('outpost-nats');
  private readonly micro: MicroService;
  private readonly subs: Subscription[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private closing?: Promise<void>;

  constructor(private readonly options: OutpostNatsServerOptions) {
    super();
    ensureTraceContextManager();
    this.micro = new MicroService(options.connection, {
      name: `outpost-${options.agent}`,
      version: options.version,
      description: options.description ?? `Outpost ${options.agent} agent`,
      metadata: { node_id: options.nodeId, agent: options.agent },
    });
  }

  get queue(): string {
    return this.options.queue ?? `outpost.${this.options.agent}`;
  }

  get microService(): MicroService {
    return this.micro;
  }

  listen(callback: (err?: unknown) => void): void {
    try {
      this.bindHandlers();
      this.micro.start();
      callback();
    } catch (err) {
      callback(err);
    }
  }

  async close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  on(): never {
    throw new Error('OutpostNatsServer reports connection events through the bus logger, not on()');
  }

  unwrap<T>(): T {
    return this.options.connection as T;
  }

  private bindHandlers(): void {
    for (const [pattern, handler] of this.messageHandlers) {
      const def = catalogEntry(pattern);
      if (!def) throw new Error(`handler pattern "${pattern}" is not in the contracts catalog`);
      if (def.kind === 'cmd') this.bindCommand(def, handler);
      else this.bindEvent(def, handler);
    }
  }

  private bindCommand(def: CommandDef, handler: MessageHandler): void {
    if (handler.isEventHandler) throw new Error(`${def.pattern} is a command: use @Command, not @OnEvent`);
    if (def.agent !== this.options.agent) {
      throw new Error(
        `the ${this.options.agent} agent cannot serve ${def.pattern}: it belongs to ${def.agent}`,
      );
    }
    const subject = def.subject(this.options.nodeId);
    const stats = this.micro.addEndpoint({
      name: def.name,
      subject,
      queue_group: this.queue,
      metadata: { description: def.description },
    });
    this.subs.push(
      this.options.connection.subscribe(subject, {
        queue: this.queue,
        callback: (err, msg) => {
          if (err) this.options.logger.error(`subscription ${subject} failed: ${String(err)}`, 'Transport');
          else if (this.refuseJetStream(subject, msg)) stats.record(0n, 'delivered by JetStream');
          else this.track(this.serveCommand(def, handler, stats, msg));
        },
      }),
    );
  }

  private bindEvent(def: EventDef, handler: MessageHandler): void {
    if (!handler.isEventHandler) throw new Error(`${def.pattern} is an event: use @OnEvent, not @Command`);
    const subject = def.subject(this.options.nodeId);
    this.subs.push(
      this.options.connection.subscribe(subject, {
        queue: this.queue,
        callback: (err, msg) => {
          if (err) this.options.logger.error(`subscription ${subject} failed: ${String(err)}`, 'Transport');
          else if (!this.refuseJetStream(subject, msg)) this.track(this.serveEvent(def, handler, msg));
        },
      }),
    );
  }

  private refuseJetStream(subject: string, msg: Msg): boolean {
    if (!deliveredByJetStream(subject, msg)) return false;
    this.options.logger.warn(
      `message on ${subject} rejected: JetStream delivered it (stored on ${msg.subject}), nobody sent it here`,
      'Transport',
    );
    return true;
  }

  private async serveCommand(def: CommandDef, handler: MessageHandler, stats: EndpointStats, msg: Msg) {
    const started = process.hrtime.bigint();
    if (!msg.reply) {
      this.options.logger.warn(`request on ${msg.subject} has no reply subject: rejected`, 'Transport');
      stats.record(process.hrtime.bigint() - started, 'request without reply subject');
      return;
    }
    let body: Uint8Array;
    let failure: ContractError | undefined;
    const parent = msg.headers ? extractTraceContext(msg.headers) : context.active();
    const span = busTracer().startSpan(
      `${def.agent}/${def.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          ...commandSpanAttributes(msg.subject, def.agent, def.name),
          'outpost.agent': this.options.agent,
          'outpost.node.id': this.options.nodeId,
        },
      },
      parent,
    );
    try {
      const request = decode(def.request, msg.data);
      const trace = otelTrace.setSpan(parent, span);
      const ctx = new OutpostRpcContext([msg.subject, msg.headers, trace]);
      const invoke = async () =>
        lastValueFrom(this.transformToObservable(await handler(request, ctx)), { defaultValue: undefined });
      // Entering a context costs a little on every request: only when there is one to carry.
      const result = msg.headers || span.isRecording() ? await context.with(trace, invoke) : await invoke();
      body = encodeReply(def.reply, result);
    } catch (err) {
      failure = this.toContractError(err, msg.subject);
      body = encode(ErrorReplySchema, failure.toReply(msg.subject));
    }
    if (failure) span.setAttribute('rpc.response.status_code', failure.code);
    endSpan(span, failure);
    this.respond(msg, body, failure);
    stats.record(
      process.hrtime.bigint() - started,
      failure ? `${httpCodeOf(failure.code)}:${failure.message}` : undefined,
    );
  }

  private async serveEvent(def: EventDef, handler: MessageHandler, msg: Msg): Promise<void> {
    let data: unknown;
    try {
      data = decode(def.schema, msg.data);
    } catch (err) {
      // An event has nobody to answer: reject it in the log, loudly and with the reason.
      const reason = err instanceof ContractError ? err.message : String(err);
      this.options.logger.warn(`event on ${msg.subject} rejected: ${reason}`, 'Transport');
      return;
    }
    try {
      const trace = extractTraceContext(msg.headers);
      const ctx = new OutpostRpcContext([msg.subject, msg.headers, trace]);
      // Awaited here (not through Nest's handleEvent, which drops a failing stream unobserved).
      await context.with(trace, async () =>
        lastValueFrom(this.transformToObservable(await handler(data, ctx)), { defaultValue: undefined }),
      );
    } catch (err) {
      const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
      this.options.logger.error(`handler for event ${msg.subject} failed: ${detail}`, 'Transport');
    }
  }

  private respond(msg: Msg, body: Uint8Array, failure?: ContractError): void {
    try {
      if (!failure) {
        msg.respond(body);
        return;
      }
      const headers = natsHeaders();
      headers.set('Nats-Service-Error', failure.message.replace(/[\r\n]+/g, ' '));
      headers.set('Nats-Service-Error-Code', String(httpCodeOf(failure.code)));
      msg.respond(body, { headers });
    } catch (err) {
      this.options.logger.error(`reply on ${msg.subject} could not be sent: ${String(err)}`, 'Transport');
    }
  }

  private toContractError(err: unknown, subject: string): ContractError {
    if (err instanceof ContractError) return err;
    if (err instanceof Error) {
      this.options.logger.error(`handler for ${subject} failed: ${err.stack ?? err.message}`, 'Transport');
      return new ContractError(ErrorCode.INTERNAL, `internal error: ${err.message}`);
    }
    this.options.logger.error(`handler for ${subject} failed: ${JSON.stringify(err)}`, 'Transport');
    return new ContractError(ErrorCode.INTERNAL, 'internal error');
  }

  private track(work: Promise<void>): void {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  private async drain(): Promise<void> {
    await Promise.all(
      this.subs.map((s) => (s.isClosed() || s.isDraining() ? undefined : s.drain().catch(() => undefined))),
    );
    await Promise.all([...this.inflight]);
    await this.micro.stop();
  }
}

function encodeReply(schema: DescMessage, result: unknown): Uint8Array {
  if (result === undefined || result === null) return encode(schema, create(schema));
  if (typeof result === 'object' && (result as { $typeName?: string }).$typeName === schema.typeName) {
    return encode(schema, result as never);
  }
  return encode(schema, create(schema, result as never));
}

/**
 * A message JetStream delivered onto the subject rather than a client published there: a direct get's
 * answer (it carries Nats-Stream) or a pull consumer's delivery (its subject is the stored message's,
 * its reply an ack subject). nats-server 2.9 does not check the reply subject a client gives a
 * JetStream request, so a user that may write and read some key could otherwise have its own bytes
 * delivered onto a subject it may not publish to (docs/security.md, "What the server does not check").
 */
export function deliveredByJetStream(subject: string, msg: Msg): boolean {
  return (
    msg.subject !== subject ||
    msg.headers?.has('Nats-Stream') === true ||
    msg.reply?.startsWith('$JS.ACK.') === true
  );
}
