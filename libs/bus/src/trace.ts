/**
 * W3C trace context in NATS headers. Requests carry `traceparent` (and `tracestate`); the transport
 * runs each handler inside a SERVER span that is a child of the extracted context, BusClient sends
 * each request from a CLIENT span, and every request or event sent from inside a handler carries the
 * context on, so a request that crosses agents is one trace. Spans come from the global tracer
 * provider: without one (no OTLP exporter configured) they are non-recording and only the context
 * travels.
 */
import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';

const w3c = new W3CTraceContextPropagator();

let contextManagerChecked = false;

/**
 * Makes `context.with()` carry the trace context across awaits. Without a context manager the
 * OpenTelemetry API drops it; when the OpenTelemetry SDK registered one already, that one stays.
 */
export function ensureTraceContextManager(): void {
  if (contextManagerChecked) return;
  contextManagerChecked = true;
  const manager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(manager)) manager.disable();
}

const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => (carrier ? [...carrier.keys()] : []),
  get: (carrier, key) => (carrier?.has(key) ? carrier.get(key) : undefined),
};

const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** The context a message carries (or the active one if it carries none). */
export function extractTraceContext(
  headers: MsgHdrs | undefined,
  parent: Context = context.active(),
): Context {
  return w3c.extract(parent, headers, getter);
}

/** Writes the active trace context into (new or given) headers; returns them. */
export function injectTraceContext(into: MsgHdrs = natsHeaders(), ctx: Context = context.active()): MsgHdrs {
  w3c.inject(ctx, into, setter);
  return into;
}

/** The traceparent value of a context, if it has a valid span context. */
export function traceparentOf(ctx: Context): string | undefined {
  const headers = natsHeaders();
  w3c.inject(ctx, headers, setter);
  return headers.has('traceparent') ? headers.get('traceparent') : undefined;
}

export function traceIdOf(ctx: Context): string | undefined {
  const span = trace.getSpanContext(ctx);
  return span && trace.isSpanContextValid(span) ? span.traceId : undefined;
}

/** The tracer of the bus (resolved through the global provider at each span, so it can change). */
export function busTracer() {
  return trace.getTracer('@outpost/bus');
}

/** Attributes of a span of a bus command (OpenTelemetry RPC and messaging conventions). */
export function commandSpanAttributes(subject: string, agent: string, verb: string): Attributes {
  return {
    'rpc.system': 'nats',
    'rpc.service': `outpost.${agent}`,
    'rpc.method': verb,
    'messaging.system': 'nats',
    'messaging.destination.name': subject,
  };
}

/** Ends a span with the outcome of its work: an error is recorded and marks the span failed. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  }
  span.end();
}

export { SpanKind };
