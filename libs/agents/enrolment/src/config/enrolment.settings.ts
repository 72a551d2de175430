/**
 * The enrolment service's settings: <configDir>/enrolment.json or OUTPOST_ENROLMENT_* variables. The
 * key files are made once by `tools/scripts/hub-accounts.mjs` (mode 0600, root or the service's user).
 */
import type { SettingsSpec } from '@outpost/agent-runtime';

const DAY_S = 24 * 60 * 60;

export const enrolmentSettings = {
  fleetAccount: {
    kind: 'string',
    default: '',
    pattern: /^(A[A-Z2-7]{55})?$/,
    description: 'public key of the FLEET account the nodes join (required)',
  },
  fleetSigningSeedFile: {
    kind: 'string',
    default: '/etc/outpost/hub/fleet-signing.nk',
    description: "seed of a signing key of the FLEET account: signs nodes' user JWTs",
  },
  operatorSigningSeedFile: {
    kind: 'string',
    default: '/etc/outpost/hub/operator-signing.nk',
    description: 'seed of a signing key of the operator: signs the FLEET account JWT with its revocations',
  },
  tokenSigningSeedFile: {
    kind: 'string',
    default: '/etc/outpost/hub/token-signing.nk',
    description: 'seed of the key that signs enrolment tokens (only this service checks them)',
  },
  systemCredsFile: {
    kind: 'string',
    default: '/etc/outpost/hub/system.creds',
    description: 'a system-account user: pushes account JWT updates to the resolver ($SYS.REQ.CLAIMS.UPDATE)',
  },
  kvReplicas: {
    kind: 'int',
    default: 3,
    min: 1,
    max: 5,
    description: 'replicas of the enrolment KV buckets when the service creates them (one per hub member)',
  },
  tokenTtlSeconds: {
    kind: 'int',
    default: 3_600,
    min: 10,
    max: 30 * DAY_S,
    unit: 's',
    description: 'lifetime of a token when the request names none',
  },
  maxTokenTtlSeconds: {
    kind: 'int',
    default: 7 * DAY_S,
    min: 10,
    max: 365 * DAY_S,
    unit: 's',
    description: 'the longest lifetime a token may be given',
  },
  credentialsTtlSeconds: {
    kind: 'int',
    default: 30 * DAY_S,
    min: 10,
    max: 365 * DAY_S,
    unit: 's',
    description: "lifetime of a node's user JWT; nodes renew at two thirds of it",
  },
  renewSkewSeconds: {
    kind: 'int',
    default: 300,
    min: 1,
    max: 3_600,
    unit: 's',
    description: "how far a renew request's signedAt may be from the service's clock",
  },
} as const satisfies SettingsSpec;
