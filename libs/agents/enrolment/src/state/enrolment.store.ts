/**
 * The enrolment records, in KV buckets of the hub's JetStream (replicated across the hub cluster):
 * enrolment_tokens (key = token id) and enrolment_nodes (key = node id). Every change is a
 * compare-and-set on the revision that was read: two enrolments racing for one token (two requests, two
 * replicas of the service, a restart in between) cannot both succeed — the second write fails on the
 * server and the token is refused as used. That is the single-use guarantee; a local file could only
 * give it to one process.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm, type KV } from '@nats-io/kv';
import {
  decode,
  encode,
  EnrolmentNodeSchema,
  EnrolmentTokenSchema,
  KV_ENROLMENT_NODES,
  KV_ENROLMENT_TOKENS,
  type EnrolmentNode,
  type EnrolmentToken,
} from '@outpost/contracts';

export interface Stored<T> {
  record: T;
  revision: number;
}

/** A compare-and-set lost against a concurrent writer. */
export class StaleRevisionError extends Error {
  override readonly name = 'StaleRevisionError';
}

export class EnrolmentStore {
  private constructor(
    private readonly tokens: KV,
    private readonly nodes: KV,
  ) {}

  /** Binds the buckets, creating them (history 5, file storage) when they do not exist yet. */
  static async open(nc: NatsConnection, replicas: number): Promise<EnrolmentStore> {
    const kvm = new Kvm(nc);
    const open = (bucket: string) => kvm.create(bucket, { history: 5, replicas, storage: 'file' });
    return new EnrolmentStore(await open(KV_ENROLMENT_TOKENS), await open(KV_ENROLMENT_NODES));
  }

  async token(tokenId: string): Promise<Stored<EnrolmentToken> | undefined> {
    return read(this.tokens, tokenId, (b) => decode(EnrolmentTokenSchema, b));
  }

  async node(nodeId: string): Promise<Stored<EnrolmentNode> | undefined> {
    return read(this.nodes, nodeId, (b) => decode(EnrolmentNodeSchema, b));
  }

  async createToken(token: EnrolmentToken): Promise<void> {
    await cas(() => this.tokens.create(token.tokenId, encode(EnrolmentTokenSchema, token)));
  }

  /** Writes the token at the revision read; StaleRevisionError when someone else wrote it first. */
  async updateToken(token: EnrolmentToken, revision: number): Promise<void> {
    await cas(() => this.tokens.update(token.tokenId, encode(EnrolmentTokenSchema, token), revision));
  }

  /** Creates (revision undefined) or updates the node at the revision read. */
  async writeNode(node: EnrolmentNode, revision: number | undefined): Promise<void> {
    const bytes = encode(EnrolmentNodeSchema, node);
    await cas(() =>
      revision === undefined
        ? this.nodes.create(node.nodeId, bytes)
        : this.nodes.update(node.nodeId, bytes, revision),
    );
  }

  async allNodes(): Promise<EnrolmentNode[]> {
    const out: EnrolmentNode[] = [];
    const keys: string[] = [];
    for await (const key of await this.nodes.keys()) keys.push(key);
    for (const key of [...new Set(keys)].sort()) {
      const stored = await this.node(key);
      if (stored) out.push(stored.record);
    }
    return out;
  }
}

async function read<T>(kv: KV, key: string, parse: (b: Uint8Array) => T): Promise<Stored<T> | undefined> {
  const entry = await kv.get(key);
  if (!entry || entry.operation !== 'PUT') return undefined;
  return { record: parse(entry.value), revision: entry.revision };
}

async function cas(write: () => Promise<number>): Promise<void> {
  try {
    await write();
  } catch (err) {
    // nats.js reports a failed expected-revision (or create on an existing key) as a JetStream API error.
    if (/wrong last sequence|key exists/i.test(String((err as Error)?.message ?? err))) {
      throw new StaleRevisionError(String((err as Error).message));
    }
    throw err;
  }
}
