/**
 * Rollout leases, the pure part: which lease slot of a group this node may take. A lease value is
 * `{holder, version, expiresAt}` (expiry in the value: the 2.9 server has no per-message TTL); the
 * KV write that takes it is a create (absent slot) or an update at the read revision, so two nodes
 * racing for one slot cannot both win.
 */
export interface Lease {
  holder: string;
  version: string;
  expiresAt: number;
}

export interface LeaseSlot {
  slot: number;
  /** undefined: no value (never written, or deleted). */
  revision?: number;
  /** The parsed value; undefined with a revision: unreadable (treated as free). */
  lease?: Lease;
}

export interface LeaseChoice {
  slot: number;
  /** The revision to update at; undefined: create. */
  revision?: number;
}

export function parseLease(text: string): Lease | undefined {
  try {
    const v = JSON.parse(text) as Partial<Lease>;
    if (typeof v.holder !== 'string' || typeof v.version !== 'string' || typeof v.expiresAt !== 'number')
      return undefined;
    return { holder: v.holder, version: v.version, expiresAt: v.expiresAt };
  } catch {
    return undefined;
  }
}

/** The slot to write: one this node holds already (renewal), else the first free or expired one. */
export function chooseLeaseSlot(
  slots: readonly LeaseSlot[],
  me: string,
  now: number,
): LeaseChoice | undefined {
  const mine = slots.find((s) => s.lease?.holder === me);
  if (mine) return { slot: mine.slot, revision: mine.revision };
  const free = slots.find((s) => s.revision === undefined || !s.lease || s.lease.expiresAt <= now);
  return free && { slot: free.slot, revision: free.revision };
}

/** When the first lease held by another node expires (to retry no later than that). */
export function earliestExpiry(slots: readonly LeaseSlot[], now: number): number | undefined {
  const times = slots.flatMap((s) => (s.lease && s.lease.expiresAt > now ? [s.lease.expiresAt] : []));
  return times.length ? Math.min(...times) : undefined;
}
