/**
 * BusClient on a real nats-server: typed replies and errors, retries while nobody can answer yet,
 * a server restart in the middle of a request, and deadlines that end in typed errors.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { headers, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContractError, DescribeReplySchema, encodeInit, ErrorCode, NodeApi } from '@outpost/contracts';
import { connectTo, eventually, startNatsServer, type NatsServerHandle } from '@outpost/testing';
import { BusClient } from './client.js';

function responder(
  nc: NatsConnection,
  subject: string,
  reply: (data: string) => Uint8Array | string,
): Subscription {
  return nc.subscribe(subject, {
    callback: (_err, msg) => {
      msg.respond(reply(new TextDecoder().decode(msg.data)));
    },
  });
}

function isConnected(client: BusClient): boolean {
  return (client as unknown as { connected: boolean }).connected;
}

/** Names the step that hangs instead of letting Jest's test timeout say nothing. */
async function within<T>(work: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function errorOf(work: Promise<unknown>): Promise<ContractError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof ContractError) return err;
    throw new Error(`expected a ContractError, got ${String(err)}`);
  }
  throw new Error('expected the request to fail');
}

describe('BusClient', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let client: BusClient;

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectTo(nats, { maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    client = new BusClient(nc, { nodeId: 'n1', defaultTimeoutMs: 3000 });
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('decodes the reply with the catalog schema', async () => {
    const sub = responder(nc, 'edge.n1.node.cmd.describe', () =>
      encodeInit(DescribeReplySchema, { version: '9.9.9' }),
    );
    try {
      const reply = await client.request(NodeApi.cmd.describe, {});
      expect(reply.version).toBe('9.9.9');
    } finally {
      sub.unsubscribe();
    }
  });

  it('rejects a malformed reply as INTERNAL, naming the subject', async () => {
    const sub = responder(nc, 'edge.n1.node.cmd.describe', () => '{"notAField":1}');
    try {
      const err = await errorOf(client.request(NodeApi.cmd.describe, {}));
      expect(err.code).toBe(ErrorCode.INTERNAL);
      expect(err.message).toMatch(/malformed reply on edge\.n1\.node\.cmd\.describe/);
    } finally {
      sub.unsubscribe();
    }
  });

  it('reads an error reply of a non-Outpost micro service from its headers', async () => {
    // A responder that answers with only the micro headers:
    const raw = nc.subscribe('edge.n1.node.cmd.health', {
      callback: (_e, msg) => {
        const h = headers();
        h.set('Nats-Service-Error', 'no such thing');
        h.set('Nats-Service-Error-Code', '404');
        msg.respond('', { headers: h });
      },
    });
    try {
      const err = await errorOf(client.request(NodeApi.cmd.health, {}));
      expect(err.code).toBe(ErrorCode.NOT_FOUND);
      expect(err.message).toBe('no such thing');
    } finally {
      raw.unsubscribe();
    }
  });

  it('retries while there are no responders, and succeeds when one appears within the deadline', async () => {
    const pending = client.request(NodeApi.cmd.describe, {}, { timeoutMs: 5000 });
    await sleep(300);
    const sub = responder(nc, 'edge.n1.node.cmd.describe', () =>
      encodeInit(DescribeReplySchema, { version: 'late' }),
    );
    try {
      expect((await pending).version).toBe('late');
    } finally {
      sub.unsubscribe();
    }
  });

  it('fails with DEADLINE_EXCEEDED when nobody answers in time, saying why', async () => {
    // Long enough for at least one "no responders" round trip on a loaded machine (400 ms was not).
    const err = await errorOf(client.request(NodeApi.cmd.describe, {}, { timeoutMs: 3_000 }));
    expect(err.code).toBe(ErrorCode.DEADLINE_EXCEEDED);
    expect(err.message).toMatch(/no responders/);
  });

  it('fails with DEADLINE_EXCEEDED when a responder hangs', async () => {
    const sub = nc.subscribe('edge.n1.node.cmd.describe', { callback: () => undefined });
    try {
      const err = await errorOf(client.request(NodeApi.cmd.describe, {}, { timeoutMs: 300 }));
      expect(err.code).toBe(ErrorCode.DEADLINE_EXCEEDED);
    } finally {
      sub.unsubscribe();
    }
  });

  it('completes a request across a server restart', async () => {
    const responderConn = await connectTo(nats, { maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    const sub = responder(responderConn, 'edge.n1.node.cmd.describe', () =>
      encodeInit(DescribeReplySchema, { version: 'after-restart' }),
    );
    try {
      await responderConn.flush();
      const restarting = nats.restart();
      const reply = client.request(NodeApi.cmd.describe, {}, { timeoutMs: 20_000 });
      await restarting;
      expect((await reply).version).toBe('after-restart');
    } finally {
      sub.unsubscribe();
      await responderConn.close();
    }
  });

  it('sends a request made while the server is away once it is back', async () => {
    const responderConn = await connectTo(nats, { maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    const sub = responder(responderConn, 'edge.n1.node.cmd.describe', () =>
      encodeInit(DescribeReplySchema, { version: 'made-while-away' }),
    );
    try {
      await responderConn.flush();
      const restarting = nats.restart();
      // The client is down from the moment the server goes until it reports the reconnect.
      await within(
        eventually(() => expect(isConnected(client)).toBe(false), 15_000, 2),
        'client to see the outage',
      );
      const reply = client.request(NodeApi.cmd.describe, {}, { timeoutMs: 20_000 });
      await within(restarting, 'server restart');
      expect((await reply).version).toBe('made-while-away');
    } finally {
      sub.unsubscribe();
      await responderConn.close();
    }
  });

  it('keeps no reply alive after the request settles', async () => {
    const sub = responder(nc, 'edge.n1.node.cmd.describe', () =>
      encodeInit(DescribeReplySchema, { version: 'x' }),
    );
    try {
      await Promise.all(Array.from({ length: 50 }, () => client.request(NodeApi.cmd.describe, {})));
      expect((client as unknown as { onDisconnect: Set<unknown> }).onDisconnect.size).toBe(0);
    } finally {
      sub.unsubscribe();
    }
  });

  it('fails with UNAVAILABLE on a closed connection', async () => {
    const closed = await connectTo(nats);
    await closed.close();
    const err = await errorOf(new BusClient(closed, { nodeId: 'n1' }).request(NodeApi.cmd.describe, {}));
    expect(err.code).toBe(ErrorCode.UNAVAILABLE);
  });
});
