/**
 * Rollout leases in KV edge_status (rollout.<group>.lease-<n>): read every slot of the group, pick
 * one with the pure rule of domain/lease.ts, take it with a create or a revision-checked update, and
 * give it back with a revision-checked delete. A lost race is retried a few times on fresh reads.
 */
import type { KV } from '@nats-io/kv';
import { kvKeys } from '@outpost/contracts';
import { chooseLeaseSlot, earliestExpiry, parseLease, type LeaseSlot } from '../domain/lease.js';

const RACE_ATTEMPTS = 3;
const utf8 = new TextDecoder();

export type Acquired = { ok: true; slot: number } | { ok: false; reason: string; retryAt?: number };

export class RolloutLeases {
  constructor(private readonly kv: KV) {}

  async acquire(
    group: string,
    max: number,
    me: string,
    version: string,
    ttlMs: number,
    now: number,
  ): Promise<Acquired> {
    for (let attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
      const slots = await this.read(group, max);
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
        if (choice.revision === undefined) await this.kv.create(key, value);
        else await this.kv.update(key, value, choice.revision);
        return { ok: true, slot: choice.slot };
      } catch {
        // Another node wrote the slot between the read and the write: read again.
      }
    }
    return { ok: false, reason: `rollout group ${group}: lost the race for a lease ${RACE_ATTEMPTS} times` };
  }

  /** Gives the lease back if this node still holds it (a lease taken over after expiry is left alone). */
  async release(group: string, slot: number, me: string): Promise<void> {
    const key = kvKeys.rolloutLease(group, slot);
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT' || parseLease(utf8.decode(entry.value))?.holder !== me) return;
    await this.kv.delete(key, { previousSeq: entry.revision });
  }

  private async read(group: string, max: number): Promise<LeaseSlot[]> {
    const slots: LeaseSlot[] = [];
    for (let slot = 0; slot < max; slot++) {
      const entry = await this.kv.get(kvKeys.rolloutLease(group, slot));
      // A deleted slot is free; a create on it succeeds (the last operation is a delete).
      if (!entry || entry.operation !== 'PUT') slots.push({ slot });
      else slots.push({ slot, revision: entry.revision, lease: parseLease(utf8.decode(entry.value)) });
    }
    return slots;
  }
}
