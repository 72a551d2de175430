/**
 * `outpostctl enrol` and `outpostctl enrol renew`, run on the node (as root) against the hub's client
 * URL with the hub's public enrol.creds (`-s tls://hub:4222 --creds /etc/outpost/nats/enrol.creds`):
 * the node makes its own key pair (0600, never sent), trades the token and its public key for a user
 * JWT, and writes the .creds file its leaf remote reads. The node's nats-server picks the file up on its
 * next connect to the hub (it retries every 2 s while it has none). `renew` asks for a new JWT for the
 * same key once two thirds of the current one's lifetime have passed (or always with --force); a timer
 * runs it. Hub operators use `enrol token`, `enrol revoke` and `enrol list` with their own credentials.
 */
import { readFile } from 'node:fs/promises';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { EnrolmentApi, EnrolmentNodeState, HUB_DOMAIN } from '@outpost/contracts';
import { enrolNode, readCredsLifetime, renewalDue, renewNode } from '@outpost/agent-enrolment';
import { usage } from '../exit-codes.js';
import { block, table, writeJson } from '../output.js';
import type { CommandContext } from './context.js';

export const DEFAULT_KEY_FILE = '/etc/outpost/nats/hub.nk';
export const DEFAULT_CREDS_FILE = '/etc/outpost/nats/hub.creds';
const PRODUCT_UUID = '/sys/class/dmi/id/product_uuid';

async function hardwareId(ctx: CommandContext): Promise<string> {
  if (ctx.opts.hardwareId !== undefined) return ctx.opts.hardwareId;
  try {
    return (await readFile(PRODUCT_UUID, 'utf8')).trim();
  } catch {
    return ''; // not root, or no DMI: a token bound to hardware will be refused with hardware-mismatch
  }
}

export async function enrolCommand(ctx: CommandContext): Promise<number> {
  const token =
    ctx.opts.token ?? (ctx.opts.tokenFile ? (await readFile(ctx.opts.tokenFile, 'utf8')).trim() : undefined);
  if (!token) throw usage('enrol needs --token TOKEN or --token-file FILE');
  const nodeId = ctx.opts.nodeId ?? ctx.io.env.OUTPOST_NODE_ID;
  if (!nodeId) throw usage('enrol needs --node-id (or OUTPOST_NODE_ID): the node id this node runs with');
  const result = await enrolNode({
    hub: ctx.fleet.nc,
    nodeId,
    token,
    hardwareId: await hardwareId(ctx),
    keyFile: ctx.opts.keyFile ?? DEFAULT_KEY_FILE,
    credsFile: ctx.opts.credsFile ?? DEFAULT_CREDS_FILE,
    timeoutMs: ctx.fleet.timeoutMs,
  });
  const expiresAt = result.credentials.expiresAt
    ? timestampDate(result.credentials.expiresAt).toISOString()
    : '';
  const credsFile = ctx.opts.credsFile ?? DEFAULT_CREDS_FILE;
  if (ctx.opts.json) {
    writeJson(ctx.io, {
      nodeId,
      publicKey: result.publicKey,
      credsFile,
      expiresAt,
      keyCreated: result.keyCreated,
    });
    return 0;
  }
  ctx.io.stdout.write(
    block(`enrolled ${nodeId}`, [
      ['public key', result.publicKey],
      ['credentials', credsFile],
      ['expire', expiresAt],
      ['next', 'the leaf remote connects with them on its next attempt (within seconds)'],
    ]),
  );
  return 0;
}

export async function enrolRenewCommand(ctx: CommandContext): Promise<number> {
  const credsFile = ctx.opts.credsFile ?? DEFAULT_CREDS_FILE;
  const before = await readCredsLifetime(credsFile);
  const due = ctx.opts.force || renewalDue(before, ctx.io.now());
  let expiresAtMs = before.expiresAtMs;
  if (due) {
    const credentials = await renewNode({
      hub: ctx.fleet.nc,
      keyFile: ctx.opts.keyFile ?? DEFAULT_KEY_FILE,
      credsFile,
      nodeId: ctx.opts.nodeId,
      timeoutMs: ctx.fleet.timeoutMs,
      now: ctx.io.now,
    });
    expiresAtMs = credentials.expiresAt ? timestampDate(credentials.expiresAt).getTime() : 0;
  }
  const expiresAt = new Date(expiresAtMs).toISOString();
  if (ctx.opts.json) {
    writeJson(ctx.io, { nodeId: before.nodeId, renewed: due, credsFile, expiresAt });
    return 0;
  }
  ctx.io.stdout.write(
    due
      ? `renewed the credentials of ${before.nodeId} in ${credsFile}: they expire ${expiresAt}\n`
      : `the credentials of ${before.nodeId} expire ${expiresAt}: not due for renewal yet (--force renews now)\n`,
  );
  return 0;
}

export async function enrolTokenCommand(ctx: CommandContext): Promise<number> {
  const [nodeId] = ctx.args;
  const reply = await ctx.fleet.request(
    EnrolmentApi.cmd.createToken,
    {
      nodeId: nodeId === '-' ? '' : nodeId,
      hardwareId: ctx.opts.hardwareId ?? '',
      ttl: ctx.opts.ttlSeconds ? { seconds: BigInt(ctx.opts.ttlSeconds), nanos: 0 } : undefined,
    },
    HUB_DOMAIN,
  );
  const expiresAt = reply.expiresAt ? timestampDate(reply.expiresAt).toISOString() : '';
  if (ctx.opts.json) {
    writeJson(ctx.io, { token: reply.token, tokenId: reply.tokenId, nodeId: reply.nodeId, expiresAt });
    return 0;
  }
  ctx.io.stdout.write(`${reply.token}\n`);
  ctx.io.stderr.write(
    `token ${reply.tokenId} for ${reply.nodeId || 'any new node id'}, single use, expires ${expiresAt}\n`,
  );
  return 0;
}

export async function enrolRevokeCommand(ctx: CommandContext): Promise<number> {
  const [nodeId] = ctx.args;
  const reply = await ctx.fleet.request(
    EnrolmentApi.cmd.revoke,
    { nodeId, reason: ctx.opts.reason ?? '' },
    HUB_DOMAIN,
  );
  if (ctx.opts.json) {
    writeJson(ctx.io, { nodeId, revokedKeys: reply.node?.revokedKeys ?? [] });
    return 0;
  }
  ctx.io.stdout.write(`revoked ${nodeId}: its leaf is disconnected and refused from now on\n`);
  return 0;
}

export async function enrolListCommand(ctx: CommandContext): Promise<number> {
  const reply = await ctx.fleet.request(EnrolmentApi.cmd.list, {}, HUB_DOMAIN);
  const rows = reply.nodes.map((n) => ({
    nodeId: n.nodeId,
    state: n.state === EnrolmentNodeState.REVOKED ? 'revoked' : 'enrolled',
    publicKey: n.publicKey,
    credentialsExpireAt: n.credentialsExpireAt ? timestampDate(n.credentialsExpireAt).toISOString() : '',
  }));
  if (ctx.opts.json) {
    writeJson(ctx.io, { nodes: rows });
    return 0;
  }
  ctx.io.stdout.write(
    rows.length === 0
      ? 'no node enrolled\n'
      : table(
          ['node', 'state', 'key', 'credentials expire'],
          rows.map((r) => [r.nodeId, r.state, r.publicKey, r.credentialsExpireAt]),
        ),
  );
  return 0;
}
