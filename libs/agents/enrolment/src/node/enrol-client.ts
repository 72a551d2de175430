/**
 * The node's side of enrolment (run by `outpostctl enrol`): the node's own user key pair (made here,
 * kept in a root-only 0600 file, never sent anywhere), the enrol and renew requests to the hub through
 * the public ENROL account, and the leaf remote's .creds file, replaced atomically (write, fsync,
 * rename) so the node's nats-server reads either the old credentials or the new on its next connect.
 */
import { readFile, stat } from 'node:fs/promises';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { decode as decodeJwt } from '@nats-io/jwt';
import { createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/nats-core';
import { EnrolmentApi, HUB_DOMAIN, type EnrolmentCredentials } from '@outpost/contracts';
import { BusClient } from '@outpost/bus';
import { writeFileAtomic } from '@outpost/agent-runtime';
import { credsText } from '@outpost/nats-config';
import { renewProofText } from '../domain/renew-proof.js';

export interface NodeKey {
  pair: KeyPair;
  created: boolean;
}

/** The node's key pair from keyFile; made (0600) when the file does not exist. A wider mode is refused. */
export async function ensureNodeKey(keyFile: string): Promise<NodeKey> {
  try {
    const info = await stat(keyFile);
    if ((info.mode & 0o077) !== 0) {
      throw new Error(
        `${keyFile} is readable by others (mode ${(info.mode & 0o777).toString(8)}): chmod 600 it`,
      );
    }
    const seed = (await readFile(keyFile, 'utf8')).trim();
    if (!/^SU[A-Z2-7]{56}$/.test(seed)) throw new Error(`${keyFile} does not hold a NATS user seed`);
    return { pair: fromSeed(new TextEncoder().encode(seed)), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = createUser();
  await writeFileAtomic(keyFile, `${new TextDecoder().decode(pair.getSeed())}\n`, 0o600);
  return { pair, created: true };
}

export interface EnrolOptions {
  /** A connection to the hub as the public ENROL user. */
  hub: NatsConnection;
  nodeId: string;
  token: string;
  hardwareId?: string;
  keyFile: string;
  credsFile: string;
  timeoutMs?: number;
}

export interface EnrolResult {
  credentials: EnrolmentCredentials;
  publicKey: string;
  keyCreated: boolean;
}

/** Enrols the node: its public key and the token out, the user JWT back, the .creds file written. */
export async function enrolNode(opts: EnrolOptions): Promise<EnrolResult> {
  const key = await ensureNodeKey(opts.keyFile);
  const publicKey = key.pair.getPublicKey();
  const credentials = await hubClient(opts.hub, opts.timeoutMs).request(
    EnrolmentApi.cmd.enrol,
    { token: opts.token, nodeId: opts.nodeId, publicKey, hardwareId: opts.hardwareId ?? '' },
    { timeoutMs: opts.timeoutMs },
  );
  await writeCreds(opts.credsFile, credentials.jwt, key.pair);
  return { credentials, publicKey, keyCreated: key.created };
}

export interface RenewOptions {
  hub: NatsConnection;
  keyFile: string;
  credsFile: string;
  /** Default: the node id in the current credentials. */
  nodeId?: string;
  timeoutMs?: number;
  now?: () => number;
}

/** A new JWT for the same key, asked for with a proof signed by the key; the .creds file replaced. */
export async function renewNode(opts: RenewOptions): Promise<EnrolmentCredentials> {
  const key = await ensureNodeKey(opts.keyFile);
  if (key.created)
    throw new Error(`${opts.keyFile} did not exist: this node is not enrolled (outpostctl enrol)`);
  const nodeId = opts.nodeId ?? (await readCredsLifetime(opts.credsFile)).nodeId;
  const publicKey = key.pair.getPublicKey();
  const signedAtMs = Math.floor((opts.now ?? Date.now)() / 1000) * 1000;
  const signature = Buffer.from(
    key.pair.sign(renewProofText(nodeId, publicKey, new Date(signedAtMs).toISOString())),
  ).toString('base64url');
  const credentials = await hubClient(opts.hub, opts.timeoutMs).request(
    EnrolmentApi.cmd.renew,
    { nodeId, publicKey, signedAt: timestampFromMs(signedAtMs), signature },
    { timeoutMs: opts.timeoutMs },
  );
  await writeCreds(opts.credsFile, credentials.jwt, key.pair);
  return credentials;
}

export interface CredsLifetime {
  nodeId: string;
  issuedAtMs: number;
  expiresAtMs: number;
}

/** The node id and validity of the JWT in a .creds file. */
export async function readCredsLifetime(credsFile: string): Promise<CredsLifetime> {
  const text = await readFile(credsFile, 'utf8');
  const jwt = /-----BEGIN NATS USER JWT-----\s*([^\s-][^\s]*)\s*------END NATS USER JWT------/.exec(
    text,
  )?.[1];
  if (!jwt) throw new Error(`${credsFile} holds no NATS user JWT`);
  const claims = decodeJwt(jwt);
  return { nodeId: claims.name, issuedAtMs: claims.iat * 1000, expiresAtMs: (claims.exp ?? 0) * 1000 };
}

/** Renew once two thirds of the lifetime have passed (or it has expired, or has no expiry). */
export function renewalDue(lifetime: CredsLifetime, nowMs: number): boolean {
  if (!lifetime.expiresAtMs) return false;
  const total = lifetime.expiresAtMs - lifetime.issuedAtMs;
  return nowMs >= lifetime.issuedAtMs + (total * 2) / 3;
}

async function writeCreds(file: string, jwt: string, pair: KeyPair): Promise<void> {
  await writeFileAtomic(file, credsText(jwt, pair), 0o600);
}

function hubClient(hub: NatsConnection, timeoutMs = 5_000): BusClient {
  return new BusClient(hub, { nodeId: HUB_DOMAIN, defaultTimeoutMs: timeoutMs });
}
