/**
 * The enrolment rules, as decisions over the service's records: what an enrol, a renew or a revoke
 * does to the token and node records, or why it is refused. No NATS, no KV, no signing here; the
 * service carries a decision out (compare-and-set writes, then signing), so a refused request writes
 * nothing at all.
 */
import { create } from '@bufbuild/protobuf';
import { timestampFromMs, timestampMs } from '@bufbuild/protobuf/wkt';
import {
  EnrolmentNodeSchema,
  EnrolmentNodeState,
  EnrolmentTokenSchema,
  EnrolmentTokenState,
  HUB_DOMAIN,
  type EnrolmentNode,
  type EnrolmentToken,
} from '@outpost/contracts';
import { refuse, type Refusal } from './refusal.js';
import { isUserPublicKey, verifyRenewProof } from './renew-proof.js';
import type { TokenClaims } from './token.js';

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function checkNodeId(nodeId: string): Refusal | undefined {
  if (!NODE_ID.test(nodeId))
    return refuse('node-id-invalid', `node id "${nodeId}" is not a subject token (1-64 of A-Z a-z 0-9 _ -)`);
  if (nodeId === HUB_DOMAIN)
    return refuse('node-id-invalid', `"${HUB_DOMAIN}" is the hub's domain and cannot be a node id`);
  return undefined;
}

/** A token record as issued. */
export function issuedToken(claims: TokenClaims): EnrolmentToken {
  return create(EnrolmentTokenSchema, {
    tokenId: claims.tokenId,
    state: EnrolmentTokenState.ISSUED,
    nodeId: claims.nodeId,
    hardwareId: claims.hardwareId,
    expiresAt: timestampFromMs(claims.expiresAtMs),
  });
}

export interface EnrolInput {
  claims: TokenClaims;
  /** The token's record; undefined when the service never issued (or no longer has) it. */
  token: EnrolmentToken | undefined;
  /** The node's record, if the id was ever enrolled. */
  node: EnrolmentNode | undefined;
  request: { nodeId: string; publicKey: string; hardwareId: string };
  nowMs: number;
  credentialsTtlMs: number;
}

export interface EnrolDecision {
  token: EnrolmentToken;
  node: EnrolmentNode;
  /** Keys newly revoked in the account (the previous key of a re-enrolled node). */
  revokedKeys: string[];
}

export function decideEnrol(input: EnrolInput): EnrolDecision | Refusal {
  const { claims, token, node, request, nowMs } = input;
  const badId = checkNodeId(request.nodeId);
  if (badId) return badId;
  if (!token) return refuse('token-unknown', 'this hub has no record of the enrolment token');
  if (token.state !== EnrolmentTokenState.ISSUED) {
    return refuse('token-used', `enrolment token ${token.tokenId} was already used`);
  }
  if (claims.nodeId && claims.nodeId !== request.nodeId) {
    return refuse('node-mismatch', `enrolment token is for node ${claims.nodeId}, not ${request.nodeId}`);
  }
  if (claims.hardwareId && claims.hardwareId !== request.hardwareId) {
    return refuse('hardware-mismatch', 'enrolment token is bound to another hardware identity');
  }
  if (!isUserPublicKey(request.publicKey)) {
    return refuse('key-invalid', 'publicKey is not a NATS user public nkey (U...)');
  }
  const known = node?.state === EnrolmentNodeState.ENROLLED || node?.state === EnrolmentNodeState.REVOKED;
  // A token that names no node may only admit a new id: it must not take over an enrolled node.
  if (known && !claims.nodeId) {
    return refuse('node-taken', `node ${request.nodeId} is already enrolled; ask for a token naming it`);
  }
  const revoked = new Set(node?.revokedKeys ?? []);
  if (
    revoked.has(request.publicKey) ||
    (node?.state === EnrolmentNodeState.REVOKED && node.publicKey === request.publicKey)
  ) {
    return refuse('key-revoked', 'this key was revoked: generate a new key pair to enrol again');
  }
  const replaced = node && node.publicKey && node.publicKey !== request.publicKey ? [node.publicKey] : [];
  const newlyRevoked = replaced.filter((k) => !revoked.has(k));
  return {
    token: create(EnrolmentTokenSchema, {
      ...token,
      state: EnrolmentTokenState.USED,
      usedAt: timestampFromMs(nowMs),
      usedByNode: request.nodeId,
    }),
    node: create(EnrolmentNodeSchema, {
      nodeId: request.nodeId,
      state: EnrolmentNodeState.ENROLLED,
      publicKey: request.publicKey,
      hardwareId: request.hardwareId,
      enrolledAt: timestampFromMs(nowMs),
      credentialsExpireAt: timestampFromMs(nowMs + input.credentialsTtlMs),
      revokedKeys: [...revoked, ...newlyRevoked],
      tokenId: token.tokenId,
    }),
    revokedKeys: newlyRevoked,
  };
}

export interface RenewInput {
  node: EnrolmentNode | undefined;
  request: { nodeId: string; publicKey: string; signedAtMs: number | undefined; signature: string };
  nowMs: number;
  skewMs: number;
  credentialsTtlMs: number;
}

export function decideRenew(input: RenewInput): EnrolmentNode | Refusal {
  const { node, request, nowMs } = input;
  if (!node) return refuse('not-enrolled', `node ${request.nodeId} is not enrolled`);
  if (node.state === EnrolmentNodeState.REVOKED)
    return refuse('node-revoked', `node ${request.nodeId} is revoked`);
  if (node.publicKey !== request.publicKey) {
    return refuse('key-mismatch', `node ${request.nodeId} is enrolled with another key`);
  }
  if (request.signedAtMs === undefined || Math.abs(nowMs - request.signedAtMs) > input.skewMs) {
    return refuse('proof-stale', `signedAt must be within ${input.skewMs / 1000} s of the hub's clock`);
  }
  const signedAt = new Date(request.signedAtMs).toISOString();
  if (!verifyRenewProof(request.nodeId, request.publicKey, signedAt, request.signature)) {
    return refuse('proof-invalid', "the renew request is not signed by the node's key");
  }
  return create(EnrolmentNodeSchema, {
    ...node,
    credentialsExpireAt: timestampFromMs(nowMs + input.credentialsTtlMs),
  });
}

export function decideRevoke(
  node: EnrolmentNode | undefined,
  nodeId: string,
  reason: string,
  nowMs: number,
): EnrolmentNode | Refusal {
  if (!node) return refuse('not-enrolled', `node ${nodeId} is not enrolled`);
  if (node.state === EnrolmentNodeState.REVOKED) return node; // again: the same record, pushed again
  const keys = new Set([...node.revokedKeys, node.publicKey]);
  return create(EnrolmentNodeSchema, {
    ...node,
    state: EnrolmentNodeState.REVOKED,
    revokedAt: timestampFromMs(nowMs),
    revokeReason: reason,
    revokedKeys: [...keys],
  });
}

/**
 * The FLEET account's revocation list from every node record: each revoked key with a time at or after
 * the last JWT the service issued for it (the server refuses JWTs of that key issued at or before it).
 * Keys are never accepted again once revoked, so no later JWT of a revoked key exists.
 */
export function revocationsOf(nodes: readonly EnrolmentNode[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const node of nodes) {
    // A revoked node's keys: its revocation time. A key replaced by re-enrolment: the time the new key
    // was enrolled, when the old one stopped getting JWTs.
    const times = [node.revokedAt, node.enrolledAt]
      .filter((t) => t !== undefined)
      .map((t) => Math.ceil(timestampMs(t) / 1000));
    const at = Math.max(0, ...times);
    for (const key of node.revokedKeys) out[key] = Math.max(out[key] ?? 0, at);
  }
  return out;
}
