/** Enrolment tokens: signed generic JWTs, checked for issuer, kind, signature and expiry. */
import { describe, expect, it } from '@jest/globals';
import { encodeGeneric } from '@nats-io/jwt';
import { createAccount, createUser } from '@nats-io/nkeys';
import { isRefusal } from './refusal.js';
import { readToken, TOKEN_KIND, tokenTtlMs } from './token.js';

const issuer = createAccount();
const NOW_S = Math.floor(Date.now() / 1000);
const data = { token_id: 'tok-0000001', node_id: 'edge-7', hardware_id: 'sn-1' };
const make = (
  over: { kind?: string; exp?: number; key?: typeof issuer; data?: Record<string, unknown> } = {},
) =>
  encodeGeneric('enrolment', over.key ?? issuer, over.kind ?? TOKEN_KIND, over.data ?? data, {
    exp: over.exp ?? NOW_S + 600,
  });

describe('readToken', () => {
  it('reads a token of this issuer', async () => {
    expect(readToken(await make(), issuer.getPublicKey(), NOW_S * 1000)).toEqual({
      tokenId: 'tok-0000001',
      nodeId: 'edge-7',
      hardwareId: 'sn-1',
      expiresAtMs: (NOW_S + 600) * 1000,
    });
  });

  const tamper = async () => {
    const [h, b, s] = (await make()).split('.');
    const claims = JSON.parse(Buffer.from(b, 'base64url').toString());
    claims.nats.node_id = 'edge-8';
    return [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
  };

  it.each([
    ['not a JWT', async () => 'hello', 'token-invalid'],
    ['a changed claim', tamper, 'token-invalid'],
    ['another issuer', async () => make({ key: createAccount() }), 'token-invalid'],
    ['another kind of JWT', async () => make({ kind: 'something-else' }), 'token-invalid'],
    [
      'a token id that is no KV key',
      async () => make({ data: { ...data, token_id: 'a.b' } }),
      'token-invalid',
    ],
    ['an expired token', async () => make({ exp: NOW_S - 1 }), 'token-expired'],
    ['a user key as issuer', async () => make({ key: createUser() as never }), 'token-invalid'],
  ])('refuses %s', async (_what, token, reason) => {
    const read = readToken(await token(), issuer.getPublicKey(), NOW_S * 1000);
    expect(isRefusal(read) && read.refused).toBe(reason);
  });
});

describe('tokenTtlMs', () => {
  it.each([
    [undefined, 3_600_000],
    [0, 3_600_000],
    [60_000, 60_000],
    [86_400_000, 86_400_000],
  ])('%s ms asked: %s ms', (asked, ttl) => expect(tokenTtlMs(asked, 3_600_000, 86_400_000)).toBe(ttl));

  it.each([-1, 86_400_001])('refuses %s ms', (asked) =>
    expect(isRefusal(tokenTtlMs(asked, 3_600_000, 86_400_000))).toBe(true),
  );
});
