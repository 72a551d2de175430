/** The enrolment rules as tables: what each request does to the records, or why it is refused. */
import { describe, expect, it } from '@jest/globals';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs, timestampMs } from '@bufbuild/protobuf/wkt';
import { createUser } from '@nats-io/nkeys';
import {
  EnrolmentNodeSchema,
  EnrolmentNodeState,
  EnrolmentTokenState,
  type EnrolmentNode,
} from '@outpost/contracts';
import {
  decideEnrol,
  decideRenew,
  decideRevoke,
  issuedToken,
  revocationsOf,
  type EnrolInput,
} from './enrol.js';
import { isRefusal } from './refusal.js';
import { renewProofText } from './renew-proof.js';
import type { TokenClaims } from './token.js';

const NOW = Date.UTC(2026, 11, 6, 20, 0, 0);
const TTL = 30 * 24 * 3600 * 1000;
const keyA = createUser();
const keyB = createUser();
const claims = (over: Partial<TokenClaims> = {}): TokenClaims => ({
  tokenId: 'tok-0000001',
  nodeId: 'edge-7',
  hardwareId: '',
  expiresAtMs: NOW + 3_600_000,
  ...over,
});
const enrolled = (over: Partial<Omit<EnrolmentNode, '$typeName' | '$unknown'>> = {}): EnrolmentNode =>
  create(EnrolmentNodeSchema, {
    nodeId: 'edge-7',
    state: EnrolmentNodeState.ENROLLED,
    publicKey: keyA.getPublicKey(),
    enrolledAt: timestampFromMs(NOW - 1_000),
    credentialsExpireAt: timestampFromMs(NOW + TTL),
    ...over,
  });

function input(over: Partial<EnrolInput> = {}, request: Partial<EnrolInput['request']> = {}): EnrolInput {
  const c = over.claims ?? claims();
  return {
    claims: c,
    token: issuedToken(c),
    node: undefined,
    nowMs: NOW,
    credentialsTtlMs: TTL,
    ...over,
    request: { nodeId: 'edge-7', publicKey: keyA.getPublicKey(), hardwareId: '', ...request },
  };
}

describe('decideEnrol', () => {
  it('admits a new node: token USED by it, node ENROLLED with its key and credentials expiry', () => {
    const d = decideEnrol(input());
    if (isRefusal(d)) throw new Error(d.message);
    expect(d.token.state).toBe(EnrolmentTokenState.USED);
    expect(d.token.usedByNode).toBe('edge-7');
    expect(d.node.state).toBe(EnrolmentNodeState.ENROLLED);
    expect(d.node.publicKey).toBe(keyA.getPublicKey());
    expect(timestampMs(d.node.credentialsExpireAt ?? timestampFromMs(0))).toBe(NOW + TTL);
    expect(d.revokedKeys).toEqual([]);
  });

  it('re-enrols a node with a token naming it: the new key replaces the old, which is revoked', () => {
    const d = decideEnrol(input({ node: enrolled() }, { publicKey: keyB.getPublicKey() }));
    if (isRefusal(d)) throw new Error(d.message);
    expect(d.node.publicKey).toBe(keyB.getPublicKey());
    expect(d.revokedKeys).toEqual([keyA.getPublicKey()]);
    expect(d.node.revokedKeys).toEqual([keyA.getPublicKey()]);
  });

  it.each([
    ['an unknown token', input({ token: undefined }), 'token-unknown'],
    [
      'a used token',
      input({ token: { ...issuedToken(claims()), state: EnrolmentTokenState.USED } }),
      'token-used',
    ],
    ['another node id than the token names', input({}, { nodeId: 'edge-8' }), 'node-mismatch'],
    [
      'another hardware id than the token is bound to',
      input({ claims: claims({ hardwareId: 'sn-1' }) }, { hardwareId: 'sn-2' }),
      'hardware-mismatch',
    ],
    ['a public key that is not a user nkey', input({}, { publicKey: 'UABC' }), 'key-invalid'],
    [
      'an account key instead of a user key',
      input({}, { publicKey: `A${keyA.getPublicKey().slice(1)}` }),
      'key-invalid',
    ],
    ['the hub as node id', input({ claims: claims({ nodeId: '' }) }, { nodeId: 'hub' }), 'node-id-invalid'],
    [
      'a node id with a dot',
      input({ claims: claims({ nodeId: '' }) }, { nodeId: 'edge.7' }),
      'node-id-invalid',
    ],
    [
      'an open token for an enrolled id',
      input({ claims: claims({ nodeId: '' }), node: enrolled() }),
      'node-taken',
    ],
    [
      'a revoked key',
      input({ node: enrolled({ state: EnrolmentNodeState.REVOKED, revokedKeys: [keyA.getPublicKey()] }) }),
      'key-revoked',
    ],
  ])('refuses %s', (_what, given, reason) => {
    const d = decideEnrol(given);
    expect(isRefusal(d) && d.refused).toBe(reason);
  });
});

describe('decideRenew', () => {
  const signedAt = NOW - 2_000;
  const proof = (key = keyA, nodeId = 'edge-7', at = signedAt) =>
    Buffer.from(key.sign(renewProofText(nodeId, key.getPublicKey(), new Date(at).toISOString()))).toString(
      'base64url',
    );
  const renew = (
    node: EnrolmentNode | undefined,
    over: Partial<{ publicKey: string; signedAtMs: number; signature: string }> = {},
  ) =>
    decideRenew({
      node,
      request: {
        nodeId: 'edge-7',
        publicKey: keyA.getPublicKey(),
        signedAtMs: signedAt,
        signature: proof(),
        ...over,
      },
      nowMs: NOW,
      skewMs: 300_000,
      credentialsTtlMs: TTL,
    });

  it('gives the same key a later expiry', () => {
    const next = renew(enrolled({ credentialsExpireAt: timestampFromMs(NOW + 1_000) }));
    if (isRefusal(next)) throw new Error(next.message);
    expect(next.publicKey).toBe(keyA.getPublicKey());
    expect(timestampMs(next.credentialsExpireAt ?? timestampFromMs(0))).toBe(NOW + TTL);
  });

  it.each([
    ['a node never enrolled', () => renew(undefined), 'not-enrolled'],
    ['a revoked node', () => renew(enrolled({ state: EnrolmentNodeState.REVOKED })), 'node-revoked'],
    [
      'another key',
      () => renew(enrolled(), { publicKey: keyB.getPublicKey(), signature: proof(keyB) }),
      'key-mismatch',
    ],
    ['a proof signed by another key', () => renew(enrolled(), { signature: proof(keyB) }), 'proof-invalid'],
    [
      'a proof for another node',
      () => renew(enrolled(), { signature: proof(keyA, 'edge-8') }),
      'proof-invalid',
    ],
    [
      'a proof too old',
      () => renew(enrolled(), { signedAtMs: NOW - 301_000, signature: proof(keyA, 'edge-7', NOW - 301_000) }),
      'proof-stale',
    ],
    [
      'a proof from the future',
      () => renew(enrolled(), { signedAtMs: NOW + 301_000, signature: proof(keyA, 'edge-7', NOW + 301_000) }),
      'proof-stale',
    ],
  ])('refuses %s', (_what, decide, reason) => {
    const d = decide();
    expect(isRefusal(d) && d.refused).toBe(reason);
  });
});

describe('decideRevoke and revocationsOf', () => {
  it('revokes the node key at the revocation time; again, the same record', () => {
    const revoked = decideRevoke(enrolled(), 'edge-7', 'stolen', NOW);
    if (isRefusal(revoked)) throw new Error(revoked.message);
    expect(revoked.state).toBe(EnrolmentNodeState.REVOKED);
    expect(revoked.revokedKeys).toEqual([keyA.getPublicKey()]);
    expect(decideRevoke(revoked, 'edge-7', 'again', NOW + 5_000)).toBe(revoked);
    expect(revocationsOf([revoked])).toEqual({ [keyA.getPublicKey()]: NOW / 1000 });
  });

  it('refuses an unknown node', () => {
    const d = decideRevoke(undefined, 'edge-9', '', NOW);
    expect(isRefusal(d) && d.refused).toBe('not-enrolled');
  });

  it('revokes a replaced key from the time the new key was enrolled, and nothing of an enrolled node', () => {
    const replaced = enrolled({
      publicKey: keyB.getPublicKey(),
      revokedKeys: [keyA.getPublicKey()],
      enrolledAt: timestampFromMs(NOW + 1_500),
    });
    expect(revocationsOf([replaced, enrolled({ nodeId: 'edge-8' })])).toEqual({
      [keyA.getPublicKey()]: NOW / 1000 + 2,
    });
  });
});
