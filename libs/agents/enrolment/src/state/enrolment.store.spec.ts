/**
 * The single-use guarantee on a real nats-server: two enrolments racing for one token (two service
 * replicas, or a request racing a restart) both read it ISSUED; the compare-and-set lets exactly one
 * mark it USED. The record survives a server restart.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { create } from '@bufbuild/protobuf';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  EnrolmentNodeSchema,
  EnrolmentNodeState,
  EnrolmentTokenSchema,
  EnrolmentTokenState,
} from '@outpost/contracts';
import { connectTo, eventually, startNatsServer, type NatsServerHandle } from '@outpost/testing';
import { EnrolmentStore, StaleRevisionError } from './enrolment.store.js';

describe('EnrolmentStore on a real nats-server', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let other: NatsConnection;

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectTo(nats);
    other = await connectTo(nats);
  });

  afterAll(async () => {
    await nc?.close();
    await other?.close();
    await nats?.stop();
  });

  it('lets exactly one of two racing writers use a token, and keeps it used across a server restart', async () => {
    // Two replicas of the service, each with its own connection and store.
    const one = await EnrolmentStore.open(nc, 1);
    const two = await EnrolmentStore.open(other, 1);
    const issued = create(EnrolmentTokenSchema, {
      tokenId: 'race-token-1',
      state: EnrolmentTokenState.ISSUED,
    });
    await one.createToken(issued);
    await expect(two.createToken(issued)).rejects.toBeInstanceOf(StaleRevisionError);

    const [a, b] = await Promise.all([one.token('race-token-1'), two.token('race-token-1')]);
    expect(a?.revision).toBe(b?.revision);
    const used = (by: string) =>
      create(EnrolmentTokenSchema, { ...issued, state: EnrolmentTokenState.USED, usedByNode: by });
    const results = await Promise.allSettled([
      one.updateToken(used('node-a'), a?.revision ?? 0),
      two.updateToken(used('node-b'), b?.revision ?? 0),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(StaleRevisionError);
    const winner = results[0].status === 'fulfilled' ? 'node-a' : 'node-b';

    await nats.restart();
    const after = await eventually(() => EnrolmentStore.open(nc, 1), 30_000);
    const stored = await after.token('race-token-1');
    expect(stored?.record.state).toBe(EnrolmentTokenState.USED);
    expect(stored?.record.usedByNode).toBe(winner);
  });

  it('writes nodes at the revision read and lists them', async () => {
    const store = await EnrolmentStore.open(nc, 1);
    const node = create(EnrolmentNodeSchema, { nodeId: 'edge-7', state: EnrolmentNodeState.ENROLLED });
    await store.writeNode(node, undefined);
    await expect(store.writeNode(node, undefined)).rejects.toBeInstanceOf(StaleRevisionError);
    const read = await store.node('edge-7');
    await store.writeNode({ ...node, state: EnrolmentNodeState.REVOKED }, read?.revision ?? 0);
    await expect(store.writeNode(node, read?.revision ?? 0)).rejects.toBeInstanceOf(StaleRevisionError);
    expect((await store.allNodes()).map((n) => `${n.nodeId}:${n.state}`)).toEqual([
      `edge-7:${EnrolmentNodeState.REVOKED}`,
    ]);
  });
});
