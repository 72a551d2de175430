/**
 * The offline buffer on a real nats-server (JetStream, file storage) in front of a real OTLP/HTTP
 * receiver: batches go straight while it answers, into the stream while it is down, out of the
 * stream in order when it is back; when the stream's byte limit is reached the oldest batches are
 * dropped and counted, and nothing else is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  connectTo,
  eventually,
  OtlpReceiver,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { BufferedSink } from './buffered-sink.js';
import { OfflineBuffer } from './offline-buffer.js';
import { OtlpHttpTransport } from './otlp-http.transport.js';

const batch = (n: number) => new TextEncoder().encode(JSON.stringify({ n, pad: 'x'.repeat(200) }));
const numbers = (r: OtlpReceiver) => r.of('metrics').map((b) => Number(b.n));

describe('buffered sink with a JetStream offline buffer', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectTo(nats);
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  async function sinkTo(receiver: OtlpReceiver, stream: string, maxBytes: number) {
    const subject = `outpost.n1.observability.buffer.${stream.toLowerCase()}`;
    const buffer = new OfflineBuffer(
      nc,
      { stream, subject },
      { nodeId: 'n1', limits: { bufferMaxBytes: maxBytes, bufferMaxAgeMs: 3_600_000 } },
    );
    await buffer.open();
    const transport = new OtlpHttpTransport(`${receiver.endpoint}/v1/metrics`, 1000);
    return new BufferedSink('otlp-metrics', transport, buffer, 20);
  }

  it('delivers straight, buffers during an outage and flushes in order: nothing lost', async () => {
    const receiver = new OtlpReceiver();
    await receiver.start();
    const sink = await sinkTo(receiver, 'T1', 1024 * 1024);
    for (let n = 1; n <= 3; n++) await sink.submit(batch(n));
    expect(numbers(receiver)).toEqual([1, 2, 3]);
    await receiver.stop();
    for (let n = 4; n <= 10; n++) await sink.submit(batch(n));
    expect(sink.report.state).toBe('buffering');
    expect(sink.report.buffer.depth).toBe(7);
    await receiver.start();
    await sink.submit(batch(11)); // behind the buffered ones, never before them
    await eventually(() => expect(numbers(receiver)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    await eventually(() =>
      expect(sink.report).toMatchObject({ state: 'up', buffer: { depth: 0, dropped: 0 } }),
    );
    await sink.close();
    await receiver.stop();
  });

  it('drops the oldest batches at the byte limit and counts them', async () => {
    const receiver = new OtlpReceiver();
    await receiver.start();
    const sink = await sinkTo(receiver, 'T2', 2048);
    await sink.submit(batch(0));
    await receiver.stop();
    for (let n = 1; n <= 30; n++) await sink.submit(batch(n));
    const depth = sink.report.buffer.depth;
    expect(depth).toBeLessThan(30);
    expect(depth).toBeGreaterThan(0);
    await receiver.start();
    await eventually(() => expect(sink.report.state).toBe('up'));
    const got = numbers(receiver);
    // What arrived is the newest part, in order; the rest is what the counter says was dropped.
    expect(got).toEqual([0, ...Array.from({ length: depth }, (_v, i) => 31 - depth + i)]);
    expect(sink.report.buffer.dropped).toBe(30 - depth);
    await sink.close();
    await receiver.stop();
  });

  it('rejects a batch the receiver refuses for good (400) without blocking the ones after it', async () => {
    const receiver = new OtlpReceiver();
    await receiver.start();
    const sink = await sinkTo(receiver, 'T3', 1024 * 1024);
    receiver.status = 400;
    await sink.submit(batch(1));
    receiver.status = 200;
    await sink.submit(batch(2));
    expect(numbers(receiver)).toEqual([2]);
    expect(sink.report).toMatchObject({ state: 'up', rejected: 1, delivered: 1 });
    expect(sink.report.lastError).toMatch(/answered 400/);
    await sink.close();
    await receiver.stop();
  });
});
