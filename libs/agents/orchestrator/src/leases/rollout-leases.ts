/**
 * Rollout leases (rollout.<group>.lease-<n>): read every slot of the group, pick one with the pure
 * rule of @outpost/update-domain (lease.ts), take it with a create or a revision-checked update, and give it back with a
 * revision-checked delete. A lost race is retried a few times on fresh reads.
 *
 * Where they live: KV edge_status of the node's own server (one node, or nodes sharing a server), or —
 * with the leaseDomain setting naming the hub's JetStream domain — the hub's fleet_leases bucket, reached
 * through the leaf link (`hubLeaseBucket`), so the limit holds across every leaf node of a fleet. A
 * node that cannot reach the hub fails to acquire and does not install.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { KV_FLEET_LEASES, kvKeys } from '@outpost/contracts';
import { chooseLeaseSlot, earliestExpiry, parseLease, type LeaseSlot } from '@outpost/update-domain';

const RACE_ATTEMPTS = 3;
const utf8 = new TextDecoder();

export type Acquired = { ok: true; slot: number } | { ok: false; reason: string; retryAt?: number };

/**
 * The hub's lease bucket through the leaf link, bound on each use (a link that was down may be back):
 * one stream lookup, then reads by direct get on the key's subject, as the node's own buckets are read
 * (the permissions name exactly those subjects under $JS.<domain>.API).
 */
export function hubLeaseBucket(nc: NatsConnection, domain: string, timeoutMs = 5_000): () => Promise<KV> {
  return async () => {
    const jsm = await jetstreamManager(nc, { domain, timeout: timeoutMs, checkAPI: false });
    const info = await jsm.streams.info(`KV_${KV_FLEET_LEASES}`);
    const kvm = new Kvm(jetstream(nc, { domain, timeout: timeoutMs }));
    return kvm.open(KV_FLEET_LEASES, { allow_direct: info.config.allow_direct === true });
  };
}

export class RolloutLeases {
  private readonly bucket: () => Promise<KV>;

  /** A bucket, or a function opening it (the hub's, see hubLeaseBucket). */
  constructor(kv: KV | (() => Promise<KV>)) {
    this.bucket = typeof kv === 'function' ? kv : () => Promise.resolve(kv);
  }

  async acquire(
    group: string,
    max: number,
    me: string,
    version: string,
    ttlMs: number,
    now: number,
  ): Promise<Acquired> {
    const kv = await this.bucket();
    for (let attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
      const slots = await this.read(kv, group, max);
      const choice = chooseLeaseSlot(slots, me, now);
      if (!choice)
        return {
          ok: false,
          reason: `rollout group ${group} is full (${max} of ${max} leases held by other nodes)`,
          retryAt: earliestExpiry(slots, now),
        };
      const key = kvKeys.rolloutLease(group, choice.slot);
      const value = JSON.stringify({ holder: me, version, expiresAt: now + ttlMs });
      try {
        if (choice.revision === undefined) await kv.create(key, value);
        else await kv.update(key, value, choice.revision);
        return { ok: true, slot: choice.slot };
      } catch {
        // Another node wrote the slot between the read and the write: read again.
      }
    }
    return { ok: false, reason: `rollout group ${group}: lost the race for a lease ${RACE_ATTEMPTS} times` };
  }

  /** Gives the lease back if this node still holds it (a lease taken over after expiry is left alone). */
  async release(group: string, slot: number, me: string): Promise<void> {
    const kv = await this.bucket();
    const key = kvKeys.rolloutLease(group, slot);
    const entry = await kv.get(key);
    if (!entry || entry.operation !== 'PUT' || parseLease(utf8.decode(entry.value))?.holder !== me) return;
    await kv.delete(key, { previousSeq: entry.revision });
  }

  private async read(kv: KV, group: string, max: number): Promise<LeaseSlot[]> {
    const slots: LeaseSlot[] = [];
    for (let slot = 0; slot < max; slot++) {
      const entry = await kv.get(kvKeys.rolloutLease(group, slot));
      // A deleted slot is free; a create on it succeeds (the last operation is a delete).
      if (!entry || entry.operation !== 'PUT') slots.push({ slot });
      else slots.push({ slot, revision: entry.revision, lease: parseLease(utf8.decode(entry.value)) });
    }
    return slots;
  }
}
