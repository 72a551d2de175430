/** Desired-state validation: what the bus may ask, and the reasons for what it may not. */
import { describe, expect, it } from '@jest/globals';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { ClusterDesiredSchema, ClusterRole, Distribution, Presence } from '@outpost/contracts';
import { validateDesired } from './desired-validation.js';

const msg = (init: MessageInitShape<typeof ClusterDesiredSchema>) => create(ClusterDesiredSchema, init);
const agent = {
  presence: Presence.PRESENT,
  distribution: Distribution.K3S,
  role: ClusterRole.AGENT,
  joinUrl: 'https://10.0.0.1:6443',
  tokenRef: 'k3s-join',
};

describe('validateDesired', () => {
  it.each([
    ['absent', { presence: Presence.ABSENT }, { presence: 'absent' }],
    [
      'a k3s agent joining',
      agent,
      {
        presence: 'present',
        spec: { distribution: 'k3s', role: 'agent', joinUrl: agent.joinUrl, tokenRef: 'k3s-join' },
      },
    ],
    [
      'a first rke2 server',
      { presence: Presence.PRESENT, distribution: Distribution.RKE2, role: ClusterRole.SERVER },
      { presence: 'present', spec: { distribution: 'rke2', role: 'server', joinUrl: '', tokenRef: '' } },
    ],
    [
      'a k3s server joining by host name',
      {
        ...agent,
        role: ClusterRole.SERVER,
        joinUrl: 'https://cp.example.org:6443',
        tokenRef: 'server.token_1',
      },
      {
        presence: 'present',
        spec: {
          distribution: 'k3s',
          role: 'server',
          joinUrl: 'https://cp.example.org:6443',
          tokenRef: 'server.token_1',
        },
      },
    ],
  ])('accepts %s', (_name, init, desired) => {
    expect(validateDesired(msg(init), ['k3s', 'rke2'])).toEqual({ ok: true, desired });
  });

  it.each([
    ['no presence', { distribution: Distribution.K3S }, /presence must be/],
    ['an unknown presence', { presence: 9 as Presence }, /presence must be .*got 9/],
    [
      'absent with parameters',
      { presence: Presence.ABSENT, distribution: Distribution.K3S },
      /takes no other field \(got distribution\)/,
    ],
    ['no distribution', { ...agent, distribution: Distribution.UNSPECIFIED }, /distribution must be/],
    [
      'an unknown distribution',
      { ...agent, distribution: 7 as Distribution },
      /distribution must be .*got 7/,
    ],
    ['no role', { ...agent, role: ClusterRole.UNSPECIFIED }, /role must be/],
    ['an agent without join URL', { ...agent, joinUrl: '' }, /CLUSTER_ROLE_AGENT needs a joinUrl/],
    ['a join URL over http', { ...agent, joinUrl: 'http://10.0.0.1:6443' }, /must be https \(got http\)/],
    ['a join URL that is no URL', { ...agent, joinUrl: '10.0.0.1:6443' }, /is not a URL|must be https/],
    ['a join URL with a shell word', { ...agent, joinUrl: 'https://x;rm -rf /' }, /white space/],
    [
      'a join URL with credentials',
      { ...agent, joinUrl: 'https://u:p@10.0.0.1:6443' },
      /must not carry credentials/,
    ],
    ['a join URL with a query', { ...agent, joinUrl: 'https://10.0.0.1:6443/?token=x' }, /query or fragment/],
    ['a join URL with a newline', { ...agent, joinUrl: 'https://10.0.0.1\nX=1' }, /white space or control/],
    ['a join without token', { ...agent, tokenRef: '' }, /joinUrl needs a tokenRef/],
    [
      'a token reference with a slash',
      { ...agent, tokenRef: '../etc/shadow' },
      /plain file name.*no path separators/,
    ],
    ['a token reference that is a path', { ...agent, tokenRef: 'a/b' }, /plain file name/],
    ['a token reference with a backslash', { ...agent, tokenRef: 'a\\b' }, /plain file name/],
    ['a hidden token file', { ...agent, tokenRef: '.token' }, /plain file name/],
    ['a token reference of dots', { ...agent, tokenRef: '..' }, /plain file name/],
    ['a too long token reference', { ...agent, tokenRef: 'a'.repeat(129) }, /plain file name/],
  ])('rejects %s', (_name, init, reason) => {
    const result = validateDesired(msg(init), ['k3s', 'rke2']);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('rejects a distribution that is not configured on the node, naming what is', () => {
    const result = validateDesired(msg(agent), ['rke2']);
    expect(result).toEqual({
      ok: false,
      reason: 'distribution k3s is not configured on this node (offered: rke2)',
    });
  });
});
