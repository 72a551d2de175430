/**
 * `outpostctl leases [group]` and `outpostctl break-lease <group> <slot>`: the update orchestrators'
 * rollout leases (KV edge_status rollout.<group>.lease-<n>, value {holder, version, expiresAt}).
 * Breaking one deletes it at the revision read, so a lease renewed meanwhile is not lost silently.
 */
import { KV_FLEET_LEASES, KV_STATUS, kvKeys } from '@outpost/contracts';
import { parseLease } from '@outpost/update-domain';
import { CtlError, EXIT, notFound, usage } from '../exit-codes.js';
import { ago, table, writeJson } from '../output.js';
import type { CommandContext } from './context.js';

const utf8 = new TextDecoder();
const LEASE_KEY = /^rollout\.([^.]+)\.lease-(\d+)$/;

export interface LeaseRow {
  group: string;
  slot: number;
  holder: string;
  version: string;
  expiresAt?: string;
  expired: boolean;
  revision: number;
  /** The stored value is not a lease (the orchestrators treat the slot as free). */
  unreadable?: boolean;
}

/** On a hub the leases of the whole fleet (fleet_leases); on a node's server its edge_status. */
async function leaseBucket(ctx: CommandContext): Promise<typeof KV_FLEET_LEASES | typeof KV_STATUS> {
  return (await ctx.fleet.isHub()) ? KV_FLEET_LEASES : KV_STATUS;
}

export async function leasesCommand(ctx: CommandContext): Promise<number> {
  const [group] = ctx.args;
  const now = ctx.io.now();
  const filter = group ? `rollout.${group}.*` : 'rollout.*.*';
  if (group && !/^[A-Za-z0-9_-]{1,64}$/.test(group)) throw usage(`"${group}" is not a rollout group name`);
  const rows: LeaseRow[] = [];
  const bucket = await leaseBucket(ctx);
  for (const key of await ctx.fleet.keys(bucket, filter)) {
    const m = LEASE_KEY.exec(key);
    const entry = m ? await ctx.fleet.entry(bucket, key) : undefined;
    if (!m || !entry) continue;
    const lease = parseLease(utf8.decode(entry.value));
    rows.push({
      group: m[1],
      slot: Number(m[2]),
      holder: lease?.holder ?? '',
      version: lease?.version ?? '',
      expiresAt: lease ? new Date(lease.expiresAt).toISOString() : undefined,
      expired: lease ? lease.expiresAt <= now : true,
      revision: entry.revision,
      ...(lease ? {} : { unreadable: true }),
    });
  }
  rows.sort((a, b) => a.group.localeCompare(b.group) || a.slot - b.slot);
  if (ctx.opts.json) {
    writeJson(ctx.io, { leases: rows });
    return 0;
  }
  if (rows.length === 0) {
    ctx.io.stdout.write(group ? `no leases held in rollout group ${group}\n` : 'no rollout leases held\n');
    return 0;
  }
  ctx.io.stdout.write(
    table(
      ['group', 'slot', 'holder', 'version', 'expires'],
      rows.map((r) => [
        r.group,
        String(r.slot),
        r.unreadable ? '(unreadable)' : r.holder,
        r.version || '-',
        r.expiresAt ? `${r.expired ? 'expired ' : ''}${ago(Date.parse(r.expiresAt), now)}` : '-',
      ]),
    ),
  );
  return 0;
}

export async function breakLeaseCommand(ctx: CommandContext): Promise<number> {
  const [group, slotText] = ctx.args;
  const slot = Number(slotText);
  if (!/^\d+$/.test(slotText) || !Number.isSafeInteger(slot))
    throw usage(`slot "${slotText}" is not a number (0, 1, ...)`);
  let key: string;
  try {
    key = kvKeys.rolloutLease(group, slot);
  } catch (err) {
    throw usage((err as Error).message);
  }
  const bucket = await leaseBucket(ctx);
  const entry = await ctx.fleet.entry(bucket, key);
  if (!entry) {
    throw notFound(
      `no lease ${slot} held in rollout group ${group}`,
      '`outpostctl leases` lists the leases held',
    );
  }
  const lease = parseLease(utf8.decode(entry.value));
  try {
    await (await ctx.fleet.kv(bucket)).delete(key, { previousSeq: entry.revision });
  } catch (err) {
    if (/wrong last sequence/i.test(String((err as Error).message))) {
      throw new CtlError(
        EXIT.ERROR,
        `lease ${key} changed while breaking it (renewed or released)`,
        'look again: outpostctl leases',
      );
    }
    throw err;
  }
  if (ctx.opts.json) {
    writeJson(ctx.io, {
      broken: {
        group,
        slot,
        key,
        holder: lease?.holder ?? '',
        version: lease?.version ?? '',
        revision: entry.revision,
      },
    });
    return 0;
  }
  ctx.io.stdout.write(
    `broke lease ${slot} of rollout group ${group}${lease ? ` (held by ${lease.holder} for ${lease.version})` : ''}\n`,
  );
  return 0;
}
