/**
 * The agent's own words for what the desired state asks: a distribution with its role and join
 * parameters (a ClusterSpec), or no cluster at all. Plain values, so the state file and the domain
 * rules do not depend on the wire encoding.
 */
export const DISTRIBUTIONS = ['k3s', 'rke2'] as const;
export type DistributionId = (typeof DISTRIBUTIONS)[number];

export const ROLES = ['server', 'agent'] as const;
export type RoleId = (typeof ROLES)[number];

export interface ClusterSpec {
  readonly distribution: DistributionId;
  readonly role: RoleId;
  /** https URL of the server to join; empty for the first server of a new cluster. */
  readonly joinUrl: string;
  /** File name in the configured secrets dir holding the join token; empty when none is needed. */
  readonly tokenRef: string;
}

export type DesiredState =
  { readonly presence: 'absent' } | { readonly presence: 'present'; readonly spec: ClusterSpec };

export function sameSpec(a: ClusterSpec | undefined, b: ClusterSpec | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.distribution === b.distribution &&
    a.role === b.role &&
    a.joinUrl === b.joinUrl &&
    a.tokenRef === b.tokenRef
  );
}

export function sameDesired(a: DesiredState | undefined, b: DesiredState | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.presence === 'absent' || b.presence === 'absent') return a.presence === b.presence;
  return sameSpec(a.spec, b.spec);
}

export function describeSpec(spec: ClusterSpec | undefined): string {
  if (!spec) return 'nothing';
  return `${spec.distribution} ${spec.role}${spec.joinUrl ? ` joining ${spec.joinUrl}` : ''}`;
}
