/**
 * W3C trace context in NATS headers. Requests carry `traceparent` (and `tracestate`); the transport
 * runs each handler inside the extracted context, and every request or event sent from inside a
 * handler carries it on, so a request that crosses agents is one trace.
 */
import { context, trace, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
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
