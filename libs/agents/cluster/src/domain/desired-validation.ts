/**
 * Strict validation of a decoded desired state. The bus only ever chooses among the distributions
 * configured on the node and passes typed parameters; anything that could smuggle a path, a shell
 * word, credentials or plain http into an installer is refused here, with a reason an operator can
 * act on. A rejected desired state changes nothing: the agent keeps working towards the last good one.
 */
import { ClusterRole, Distribution, Presence, type ClusterDesired } from '@outpost/contracts';
import type { ClusterSpec, DesiredState, DistributionId, RoleId } from './cluster-spec.js';

export type Validation = { ok: true; desired: DesiredState } | { ok: false; reason: string };

const DISTRIBUTION_IDS: Partial<Record<Distribution, DistributionId>> = {
  [Distribution.K3S]: 'k3s',
  [Distribution.RKE2]: 'rke2',
};
const ROLE_IDS: Partial<Record<ClusterRole, RoleId>> = {
  [ClusterRole.SERVER]: 'server',
  [ClusterRole.AGENT]: 'agent',
};

/** A plain file name: no separators, no leading dot (no "..", no hidden files), no spaces. */
const TOKEN_REF = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const MAX_URL = 2048;

export function validateDesired(msg: ClusterDesired, offered: readonly DistributionId[]): Validation {
  const fail = (reason: string): Validation => ({ ok: false, reason });
  if (msg.presence === Presence.ABSENT) {
    const extra = [
      msg.distribution !== Distribution.UNSPECIFIED && 'distribution',
      msg.role !== ClusterRole.UNSPECIFIED && 'role',
      msg.joinUrl && 'joinUrl',
      msg.tokenRef && 'tokenRef',
    ].filter(Boolean);
    if (extra.length) return fail(`presence PRESENCE_ABSENT takes no other field (got ${extra.join(', ')})`);
    return { ok: true, desired: { presence: 'absent' } };
  }
  if (msg.presence !== Presence.PRESENT) {
    return fail(`presence must be PRESENCE_PRESENT or PRESENCE_ABSENT (got ${msg.presence})`);
  }
  const distribution = DISTRIBUTION_IDS[msg.distribution];
  if (!distribution)
    return fail(`distribution must be DISTRIBUTION_K3S or DISTRIBUTION_RKE2 (got ${msg.distribution})`);
  if (!offered.includes(distribution)) {
    return fail(
      `distribution ${distribution} is not configured on this node (offered: ${offered.join(', ') || 'none'})`,
    );
  }
  const role = ROLE_IDS[msg.role];
  if (!role) return fail(`role must be CLUSTER_ROLE_SERVER or CLUSTER_ROLE_AGENT (got ${msg.role})`);
  if (role === 'agent' && !msg.joinUrl) return fail('role CLUSTER_ROLE_AGENT needs a joinUrl');
  if (msg.joinUrl) {
    const urlProblem = checkJoinUrl(msg.joinUrl);
    if (urlProblem) return fail(urlProblem);
    if (!msg.tokenRef) return fail('joinUrl needs a tokenRef (the join token file in the secrets dir)');
  }
  if (msg.tokenRef && !TOKEN_REF.test(msg.tokenRef)) {
    return fail(
      `tokenRef ${JSON.stringify(msg.tokenRef)} must be a plain file name in the secrets dir ` +
        '(1-128 of A-Z a-z 0-9 . _ -, not starting with a dot; no path separators)',
    );
  }
  const spec: ClusterSpec = { distribution, role, joinUrl: msg.joinUrl, tokenRef: msg.tokenRef };
  return { ok: true, desired: { presence: 'present', spec } };
}

function checkJoinUrl(text: string): string | undefined {
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
  if (text.length > MAX_URL) return `joinUrl is longer than ${MAX_URL} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(text))
    return `joinUrl ${shown} contains white space or control characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `joinUrl ${shown} is not a URL`;
  }
  if (url.protocol !== 'https:')
    return `joinUrl ${shown} must be https (got ${url.protocol.replace(/:$/, '')})`;
  if (!url.hostname) return `joinUrl ${shown} has no host`;
  if (url.username || url.password) return `joinUrl ${shown} must not carry credentials (use tokenRef)`;
  if (url.search || url.hash) return `joinUrl ${shown} must not have a query or fragment`;
  return undefined;
}
