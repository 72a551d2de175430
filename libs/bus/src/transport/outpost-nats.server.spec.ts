/**
 * The transport on a real nats-server, driven by plain NATS clients (no Nest on the calling side):
 * the body on the wire is the message itself, errors are typed with the micro headers, a malformed
 * payload never stops the agent, discovery answers the micro protocol, close() drains.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { Controller, Logger, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx } from '@nestjs/microservices';
import { headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { Svcm } from '@nats-io/services';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ContractError, ErrorCode, HealthState, NodeApi, type NodeIdentity } from '@outpost/contracts';
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { connectTo, eventually, startNatsServer, type NatsServerHandle } from '@outpost/testing';
import { BusClient } from '../client.js';
import { Command, OnEvent } from './decorators.js';
import { BusExceptionFilter } from './exception.filter.js';
import { OutpostNatsServer } from './outpost-nats.server.js';
import type { OutpostRpcContext } from './rpc-context.js';

const text = (m: Msg) => new TextDecoder().decode(m.data);
const seen: { traceId?: string; describes: number; heartbeats: number } = { describes: 0, heartbeats: 0 };
let gate: Promise<void> = Promise.resolve();

@Controller()
class GoodHandlers {
  @Command(NodeApi.cmd.describe)
  describe(@Ctx() ctx: OutpostRpcContext) {
    seen.traceId = ctx.getTraceId();
    seen.describes++;
    return { version: '1.2.3', identity: { nodeId: 'n-good' } as NodeIdentity };
  }

  @Command(NodeApi.cmd.health)
  health() {
    throw new ContractError(ErrorCode.FAILED_PRECONDITION, 'not yet');
  }

  @OnEvent(NodeApi.evt.heartbeat)
  heartbeat(_event: unknown) {
    seen.heartbeats++;
  }
}

@Controller()
class FaultyHandlers {
  @Command(NodeApi.cmd.describe)
  describe() {
    throw new Error('boom');
  }

  @Command(NodeApi.cmd.health)
  async health() {
    await gate;
    return { state: HealthState.HEALTHY, evaluatedAt: timestampFromDate(new Date(0)) };
  }
}

@Module({ controllers: [GoodHandlers] })
class GoodModule {}

@Module({ controllers: [FaultyHandlers] })
class FaultyModule {}

const quiet = new Logger('test');
quiet.log = () => undefined;
quiet.warn = () => undefined;
quiet.error = () => undefined;

async function startApp(nc: NatsConnection, nodeId: string, module: unknown) {
  const server = new OutpostNatsServer({
    connection: nc,
    nodeId,
    agent: 'node',
    version: '0.1.0',
    logger: quiet,
  });
  const app = await NestFactory.createMicroservice(module as never, { strategy: server, logger: false });
  app.useGlobalFilters(new BusExceptionFilter());
  await app.listen();
  return { app, server };
}

describe('OutpostNatsServer on a real nats-server', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let caller: NatsConnection;
  let good: INestMicroservice;
  let faulty: INestMicroservice;
  let faultyServer: OutpostNatsServer;

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectTo(nats);
    caller = await connectTo(nats);
    good = (await startApp(nc, 'n-good', GoodModule)).app;
    ({ app: faulty, server: faultyServer } = await startApp(nc, 'n-faulty', FaultyModule));
  });

  afterAll(async () => {
    await good?.close();
    await faulty?.close();
    await caller?.close();
    await nc?.close();
    await nats?.stop();
  });

  it('answers a plain request with the message itself, no Nest envelope', async () => {
    const reply = await caller.request('edge.n-good.node.cmd.describe', '{}', { timeout: 5000 });
    const body = JSON.parse(text(reply));
    expect(body).not.toHaveProperty('response');
    expect(body).not.toHaveProperty('isDisposed');
    expect(body.version).toBe('1.2.3');
    expect(body.identity.nodeId).toBe('n-good');
    expect(reply.headers?.has('Nats-Service-Error-Code') ?? false).toBe(false);
  });

  it('never takes a message JetStream delivered onto a command or event subject for one', async () => {
    // nats-server 2.9 sends a pull consumer's messages to whatever reply subject the fetch names.
    const jsm = await jetstreamManager(caller);
    await jsm.streams.add({ name: 'STORED', subjects: ['stored.>'] });
    await jsm.consumers.add('STORED', { durable_name: 'pull', ack_policy: AckPolicy.Explicit });
    await caller.request('stored.describe', '{}', { timeout: 5000 });
    const before = seen.describes;
    caller.publish('$JS.API.CONSUMER.MSG.NEXT.STORED.pull', '{"batch":1}', {
      reply: 'edge.n-good.node.cmd.describe',
    });
    // The delivery went out (the consumer waits for its ack) and the next real request is served ...
    await eventually(async () =>
      expect((await jsm.consumers.info('STORED', 'pull')).num_ack_pending).toBe(1),
    );
    const reply = await caller.request('edge.n-good.node.cmd.describe', '{}', { timeout: 5000 });
    expect(JSON.parse(text(reply)).version).toBe('1.2.3');
    // ... but only that one reached the handler, and nobody answered (acked) the delivery.
    expect(seen.describes).toBe(before + 1);
    expect((await jsm.consumers.info('STORED', 'pull')).num_ack_pending).toBe(1);

    // A direct get's answer sent onto an event subject is not an event either (it carries Nats-Stream).
    await jsm.streams.update('STORED', { allow_direct: true });
    const heartbeats = seen.heartbeats;
    const onSubject: Msg[] = [];
    const sub = caller.subscribe('edge.n-good.node.evt.heartbeat', {
      callback: (_e, m) => void onSubject.push(m),
    });
    await caller.flush();
    caller.publish('$JS.API.DIRECT.GET.STORED.stored.describe', '', {
      reply: 'edge.n-good.node.evt.heartbeat',
    });
    caller.publish('edge.n-good.node.evt.heartbeat', '{}');
    // Both reached the subject (the server does not check the reply subject) ...
    await eventually(() =>
      expect(onSubject.map((m) => m.headers?.get('Nats-Stream') ?? '').sort()).toEqual(['', 'STORED']),
    );
    sub.unsubscribe();
    // ... and after a request through the agent's connection (which got both before it), one was handled.
    const marker = await caller.request('edge.n-good.node.cmd.describe', '{}', { timeout: 5000 });
    expect(JSON.parse(text(marker)).version).toBe('1.2.3');
    expect(seen.heartbeats).toBe(heartbeats + 1);
    await jsm.streams.delete('STORED');
  });

  it('answers an empty body as the empty request', async () => {
    const reply = await caller.request('edge.n-good.node.cmd.describe', '', { timeout: 5000 });
    expect(JSON.parse(text(reply)).version).toBe('1.2.3');
  });

  it.each([
    ['malformed JSON', '{"oops'],
    ['an unknown field', '{"bogus":true}'],
    ['a JSON array', '[]'],
    ['a Nest envelope', '{"pattern":"node.cmd.describe","data":{},"id":"1"}'],
  ])('rejects %s with a typed 400 and keeps serving', async (_case, payload) => {
    const reply = await caller.request('edge.n-good.node.cmd.describe', payload, { timeout: 5000 });
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('400');
    expect(reply.headers?.get('Nats-Service-Error')).toBeTruthy();
    const body = JSON.parse(text(reply));
    expect(body.code).toBe('ERROR_CODE_BAD_REQUEST');
    expect(body.subject).toBe('edge.n-good.node.cmd.describe');
    const again = await caller.request('edge.n-good.node.cmd.describe', '{}', { timeout: 5000 });
    expect(JSON.parse(text(again)).version).toBe('1.2.3');
  });

  it('carries a ContractError thrown by a handler as its typed code', async () => {
    const reply = await caller.request('edge.n-good.node.cmd.health', '{}', { timeout: 5000 });
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('409');
    expect(JSON.parse(text(reply))).toMatchObject({
      code: 'ERROR_CODE_FAILED_PRECONDITION',
      message: 'not yet',
    });
  });

  it('turns an unexpected exception into INTERNAL and keeps serving', async () => {
    const reply = await caller.request('edge.n-faulty.node.cmd.describe', '{}', { timeout: 5000 });
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('500');
    expect(JSON.parse(text(reply))).toMatchObject({ code: 'ERROR_CODE_INTERNAL' });
    const health = await caller.request('edge.n-faulty.node.cmd.health', '{}', { timeout: 5000 });
    expect(JSON.parse(text(health)).state).toBe('HEALTH_STATE_HEALTHY');
  });

  it('survives a flood of malformed messages', async () => {
    const bad = ['{', 'null', '{"x":1}', '"str"', '\u0000\u0001', '{"version":5}'];
    const replies = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        caller.request('edge.n-good.node.cmd.describe', bad[i % bad.length], { timeout: 10_000 }),
      ),
    );
    expect(replies.every((r) => r.headers?.get('Nats-Service-Error-Code') === '400')).toBe(true);
    const ok = await caller.request('edge.n-good.node.cmd.describe', '{}', { timeout: 5000 });
    expect(JSON.parse(text(ok)).version).toBe('1.2.3');
  });

  it('runs the handler in the trace context of the traceparent header', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const h = natsHeaders();
    h.set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`);
    await caller.request('edge.n-good.node.cmd.describe', '{}', { timeout: 5000, headers: h });
    expect(seen.traceId).toBe(traceId);
  });

  it('propagates the active trace context on outgoing requests', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parent = trace.setSpanContext(context.active(), {
      traceId,
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    const client = new BusClient(caller, { nodeId: 'n-good' });
    await context.with(parent, () => client.request(NodeApi.cmd.describe, {}));
    expect(seen.traceId).toBe(traceId);
  });

  it('records a CLIENT span per request and a SERVER span per handled command, in one trace', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    try {
      const client = new BusClient(caller, { nodeId: 'n-good' });
      await client.request(NodeApi.cmd.describe, {});
      const spans = exporter.getFinishedSpans().filter((s) => s.name === 'node/describe');
      const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
      const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
      expect(clients.length).toBeGreaterThanOrEqual(1);
      const first = clients[0];
      const served = servers.find((s) => s.spanContext().traceId === first.spanContext().traceId);
      expect(served?.parentSpanContext?.spanId).toBe(first.spanContext().spanId);
      expect(served?.attributes).toMatchObject({
        'rpc.system': 'nats',
        'messaging.destination.name': 'edge.n-good.node.cmd.describe',
      });
      expect(seen.traceId).toBe(clients.at(-1)?.spanContext().traceId);
    } finally {
      await provider.shutdown();
      trace.disable();
    }
  });

  it('answers the micro protocol at every subject level, readable by @nats-io/services', async () => {
    const svc = new Svcm(caller).client();
    const pings = await collect(await svc.ping('outpost-node'));
    expect(pings.length).toBe(2);
    const infos = await collect(await svc.info('outpost-node'));
    const info = infos.find((i) => i.metadata?.node_id === 'n-good');
    expect(info).toMatchObject({
      type: 'io.nats.micro.v1.info_response',
      name: 'outpost-node',
      version: '0.1.0',
    });
    expect(info?.endpoints.map((e) => e.subject).sort()).toEqual([
      'edge.n-good.node.cmd.describe',
      'edge.n-good.node.cmd.health',
    ]);
    expect(info?.endpoints[0].queue_group).toBe('outpost.node');

    // Direct subjects: $SRV.PING, $SRV.PING.<name>, $SRV.PING.<name>.<id>
    const id = info?.id ?? '';
    for (const subject of ['$SRV.STATS', '$SRV.STATS.outpost-node', `$SRV.STATS.outpost-node.${id}`]) {
      const replies = await collect(await caller.requestMany(subject, '', { maxWait: 500 }));
      const mine = replies.map((m) => JSON.parse(text(m))).find((s) => s.id === id);
      expect(mine).toBeDefined();
      assertStatsSchema(mine);
    }
    const stats = (await collect(await svc.stats('outpost-node', id)))[0];
    const describeStats = stats.endpoints?.find((e) => e.name === 'describe');
    expect(describeStats?.num_requests).toBeGreaterThan(300);
    expect(describeStats?.num_errors).toBeGreaterThanOrEqual(300);
    expect(describeStats?.last_error).toMatch(/^400:/);
    expect(describeStats?.processing_time).toBeGreaterThan(0);
  });

  it('drains on close: requests in flight are answered, then it stops listening', async () => {
    let open!: () => void;
    gate = new Promise<void>((resolve) => (open = resolve));
    const inflight = Array.from({ length: 20 }, () =>
      caller.request('edge.n-faulty.node.cmd.health', '{}', { timeout: 10_000 }),
    );
    await caller.flush();
    await waitFor(() => faultyServer.microService.endpoints.length > 0 && pendingOf(faultyServer) > 0);
    const closing = faulty.close();
    open();
    const replies = await Promise.all(inflight);
    await closing;
    expect(replies.map((r) => JSON.parse(text(r)).state)).toEqual(Array(20).fill('HEALTH_STATE_HEALTHY'));
    await expect(caller.request('edge.n-faulty.node.cmd.health', '{}', { timeout: 1000 })).rejects.toThrow();
  });
});

function pendingOf(server: OutpostNatsServer): number {
  return (server as unknown as { inflight: Set<unknown> }).inflight.size;
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error('condition not reached: the drain test would test nothing');
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of it) out.push(item);
  return out;
}

/** The io.nats.micro.v1.stats_response schema, as the nats CLI checks it. */
function assertStatsSchema(s: Record<string, unknown>): void {
  expect(s.type).toBe('io.nats.micro.v1.stats_response');
  expect(s.name).toMatch(/^[a-zA-Z0-9_-]+$/);
  expect(typeof s.id).toBe('string');
  expect(s.version).toMatch(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)/);
  expect(Number.isNaN(Date.parse(String(s.started)))).toBe(false);
  expect(Array.isArray(s.endpoints)).toBe(true);
  for (const e of s.endpoints as Record<string, unknown>[]) {
    expect(typeof e.name).toBe('string');
    expect(typeof e.subject).toBe('string');
    for (const n of ['num_requests', 'num_errors', 'processing_time', 'average_processing_time']) {
      expect(Number.isInteger(e[n])).toBe(true);
    }
    expect(typeof e.last_error).toBe('string');
  }
}
