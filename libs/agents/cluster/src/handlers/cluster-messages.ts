/** Encoding of the agent's domain values as contract messages (the reverse of desired-validation). */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  ClusterDesiredSchema,
  ClusterRole,
  Distribution,
  Presence,
  type ClusterDesired,
} from '@outpost/contracts';
import type { ClusterSpec, DesiredState } from '../domain/cluster-spec.js';

const DISTRIBUTION = { k3s: Distribution.K3S, rke2: Distribution.RKE2 } as const;
const ROLE = { server: ClusterRole.SERVER, agent: ClusterRole.AGENT } as const;

export function specMessage(spec: ClusterSpec | undefined): ClusterDesired | undefined {
  if (!spec) return undefined;
  const init: MessageInitShape<typeof ClusterDesiredSchema> = {
    presence: Presence.PRESENT,
    distribution: DISTRIBUTION[spec.distribution],
    role: ROLE[spec.role],
    joinUrl: spec.joinUrl,
    tokenRef: spec.tokenRef,
  };
  return create(ClusterDesiredSchema, init);
}

export function desiredMessage(desired: DesiredState | undefined): ClusterDesired | undefined {
  if (!desired) return undefined;
  if (desired.presence === 'absent') return create(ClusterDesiredSchema, { presence: Presence.ABSENT });
  return specMessage(desired.spec);
}
