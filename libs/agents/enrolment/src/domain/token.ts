/**
 * Enrolment tokens are NATS generic JWTs (kind "outpost-enrolment") signed with the service's token
 * key: the signature, the issuer, the kind and the expiry are checked here; single use is the token
 * record's business (domain/enrol.ts), because a JWT alone cannot know it was used.
 */
import { decode } from '@nats-io/jwt';
import { refuse, type Refusal } from './refusal.js';

export const TOKEN_KIND = 'outpost-enrolment';

export interface TokenClaims {
  tokenId: string;
  /** Empty: the token admits whatever node id the node presents (if that id is free). */
  nodeId: string;
  /** Empty: not bound to a hardware identity. */
  hardwareId: string;
  expiresAtMs: number;
}

/** What the token JWT carries in its `nats` section besides type and version. */
export type TokenData = {
  token_id: string;
  node_id: string;
  hardware_id: string;
};

const TOKEN_ID = /^[A-Za-z0-9_-]{8,64}$/;

export function readToken(token: string, issuer: string, nowMs: number): TokenClaims | Refusal {
  let claims;
  try {
    // decode() checks the ed25519 signature against the issuer the JWT names.
    claims = decode<TokenData & { type?: string }>(token.trim());
  } catch (err) {
    return refuse('token-invalid', `enrolment token is not a valid signed JWT: ${(err as Error).message}`);
  }
  if (claims.iss !== issuer) return refuse('token-invalid', 'enrolment token was not issued by this hub');
  const data = claims.nats ?? {};
  if (data.type !== TOKEN_KIND || typeof data.token_id !== 'string' || !TOKEN_ID.test(data.token_id)) {
    return refuse('token-invalid', 'not an Outpost enrolment token');
  }
  if (typeof claims.exp !== 'number') return refuse('token-invalid', 'enrolment token has no expiry');
  const expiresAtMs = claims.exp * 1000;
  if (expiresAtMs <= nowMs) {
    return refuse('token-expired', `enrolment token expired at ${new Date(expiresAtMs).toISOString()}`);
  }
  return {
    tokenId: data.token_id,
    nodeId: typeof data.node_id === 'string' ? data.node_id : '',
    hardwareId: typeof data.hardware_id === 'string' ? data.hardware_id : '',
    expiresAtMs,
  };
}

/** The lifetime of a new token: the requested one (default when none), at most the maximum. */
export function tokenTtlMs(
  requestedMs: number | undefined,
  defaultMs: number,
  maxMs: number,
): number | Refusal {
  if (requestedMs === undefined || requestedMs === 0) return defaultMs;
  if (requestedMs < 0 || requestedMs > maxMs) {
    return refuse('token-invalid', `ttl must be between 1 s and ${maxMs / 1000} s`);
  }
  return requestedMs;
}
