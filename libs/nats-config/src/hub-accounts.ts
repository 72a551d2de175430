/**
 * The hub's decentralized NATS security (operator mode): one operator, the system account, the FLEET
 * account where nodes' leaf connections, hub services and operators live (JetStream domain "hub"), and
 * the ENROL account, whose only user is public and can do nothing but call the enrolment service.
 * Every JWT is made with @nats-io/jwt and signed with nkeys; the server checks them through its account
 * resolver. The FLEET account's claims are defined here once, because the enrolment service signs that
 * account again whenever it revokes a node (the same exports and limits, a longer revocation list).
 * Every hub service (HUB_SERVICE_IDS: fleet, enrolment) gets its own FLEET user, named by its id, with
 * the permissions of HUB_SERVICE_PERMISSIONS; a node renders none of them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  type Account,
  type Permissions,
} from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromPublic, type KeyPair } from '@nats-io/nkeys';
import {
  FLEET_EVENT_STREAM,
  HUB_DOMAIN,
  HUB_SERVICE_IDS,
  KV_DESIRED,
  KV_ENROLMENT_NODES,
  KV_ENROLMENT_TOKENS,
  KV_FLEET_LEASES,
  KV_FLEET_STATE,
  KV_STATUS,
  type HubServiceId,
} from '@outpost/contracts';

/** The subjects the FLEET account exports to the ENROL account (the enrolment service's public verbs). */
export const ENROL_EXPORTS = ['edge.hub.enrolment.cmd.enrol', 'edge.hub.enrolment.cmd.renew'] as const;

/** A user's JWT and seed, in the `.creds` format the `nats` CLI, nats.js and nats-server read. */
export function credsText(jwt: string, user: KeyPair): string {
  return new TextDecoder().decode(fmtCreds(jwt, user));
}

/** An account's core NATS limits, all "none" (a missing limit in an account JWT means 0). */
const NO_NATS_LIMITS = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

/** The claims of the FLEET account: JetStream (the hub domain), the enrolment exports, signing key, revocations. */
export function fleetAccountClaims(
  signingKey: string,
  revocations: Readonly<Record<string, number>>,
): Partial<Account> {
  return {
    limits: {
      ...NO_NATS_LIMITS,
      // JetStream is enabled for the account by a non-zero storage limit (-1: no limit).
      mem_storage: -1,
      disk_storage: -1,
      streams: -1,
      consumer: -1,
    },
    exports: ENROL_EXPORTS.map((subject) => ({
      name: subject.split('.').at(-1) ?? subject,
      subject,
      type: 'service' as const,
      response_type: 'Singleton' as const,
    })),
    signing_keys: [signingKey],
    revocations: { ...revocations },
  };
}

/** The FLEET account JWT, signed by the operator's signing key. */
export function fleetAccountJwt(
  fleetAccount: string,
  operatorSigner: KeyPair,
  signingKey: string,
  revocations: Readonly<Record<string, number>> = {},
): Promise<string> {
  return encodeAccount('FLEET', fromPublic(fleetAccount), fleetAccountClaims(signingKey, revocations), {
    signer: operatorSigner,
  });
}

/** Everything a hub needs, made once by `tools/scripts/hub-accounts.mjs` (seeds stay with their owners). */
export interface HubAccounts {
  operatorJwt: string;
  /** Account public key → account JWT (the resolver's preload). */
  accountJwts: Record<string, string>;
  systemAccount: string;
  fleetAccount: string;
  enrolAccount: string;
  /** Operator identity seed: offline, only to make a new signing key. */
  operatorSeed: string;
  /** Operator signing seed: the enrolment service re-signs the FLEET account (revocations) with it. */
  operatorSigningSeed: string;
  /** FLEET account signing seed: the enrolment service signs nodes' user JWTs with it. */
  fleetSigningSeed: string;
  /** Signs enrolment tokens (generic JWTs) that only the enrolment service accepts. */
  tokenSigningSeed: string;
  /** A system-account user: the enrolment service pushes account JWT updates ($SYS.REQ.CLAIMS.UPDATE). */
  systemUserCreds: string;
  /** Each hub service's user in FLEET (HUB_SERVICE_PERMISSIONS), by service id. */
  serviceUserCreds: Record<HubServiceId, string>;
  /** Unrestricted FLEET user for the hub operator (nats CLI, outpostctl, provisioning). */
  adminUserCreds: string;
  /** The public ENROL user nodes connect with to enrol: it can only call enrol and renew. */
  enrolUserCreds: string;
}

const seedOf = (kp: KeyPair) => new TextDecoder().decode(kp.getSeed());

/** What a client needs to create, read, write and list one KV bucket (nats.js 3.4 on nats-server 2.9). */
function kvBucketSubjects(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [
    `$JS.API.STREAM.CREATE.${stream}`,
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.*`,
    `$JS.API.CONSUMER.DELETE.${stream}.*`,
    `$KV.${bucket}.>`,
  ];
}

/**
 * What every hub service does as the runtime runs it: its own subjects (edge.hub.<id>.>), discovery,
 * its inbox, binding the hub's status buckets and writing its own status key.
 */
function hubServiceBase(id: HubServiceId): { pub: string[]; sub: string[] } {
  return {
    pub: [
      `edge.${HUB_DOMAIN}.${id}.>`,
      '$SRV.>',
      `_INBOX.${id}.>`,
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.KV_${KV_STATUS}`,
      `$JS.API.STREAM.INFO.KV_${KV_DESIRED}`,
      `$KV.${KV_STATUS}.${HUB_DOMAIN}.${id}`,
    ],
    sub: [`edge.${HUB_DOMAIN}.${id}.cmd.*`, '$SRV.>', `_INBOX.${id}.>`],
  };
}

function hubServicePermissions(id: HubServiceId, pub: readonly string[]): Permissions {
  const base = hubServiceBase(id);
  return { pub: { allow: [...base.pub, ...pub] }, sub: { allow: base.sub }, resp: { max: 1, ttl: 0 } };
}

/**
 * The enrolment service's permissions in FLEET: what every hub service has, and its two KV buckets
 * (created at start). Nothing else of the hub's JetStream: it cannot touch FLEET_EVENTS or any node's
 * domain.
 */
export const ENROLMENT_SERVICE_PERMISSIONS: Permissions = hubServicePermissions(
  'enrolment',
  // Its records: create and bind the buckets, read, write (compare-and-set), list keys.
  [KV_ENROLMENT_TOKENS, KV_ENROLMENT_NODES].flatMap(kvBucketSubjects),
);

/**
 * The fleet service's permissions in FLEET: what every hub service has, its two KV buckets (rollouts
 * and label overrides, rollout leases), an ordered consumer of FLEET_EVENTS (every node's heartbeats and
 * orchestrator states), and writing a node's desired update in that node's own JetStream domain
 * ($JS.<node>.API, through the leaf link): binding its edge_desired and putting <node>.update there.
 */
export const FLEET_SERVICE_PERMISSIONS: Permissions = hubServicePermissions('fleet', [
  ...[KV_FLEET_STATE, KV_FLEET_LEASES].flatMap(kvBucketSubjects),
  `$JS.API.STREAM.INFO.${FLEET_EVENT_STREAM}`,
  `$JS.API.CONSUMER.CREATE.${FLEET_EVENT_STREAM}`,
  `$JS.API.CONSUMER.CREATE.${FLEET_EVENT_STREAM}.>`,
  `$JS.API.CONSUMER.INFO.${FLEET_EVENT_STREAM}.*`,
  `$JS.API.CONSUMER.DELETE.${FLEET_EVENT_STREAM}.*`,
  `$JS.API.CONSUMER.MSG.NEXT.${FLEET_EVENT_STREAM}.*`,
  `$JS.*.API.STREAM.INFO.KV_${KV_DESIRED}`,
  `$JS.*.API.$KV.${KV_DESIRED}.*.update`,
]);

/** Every hub service's FLEET user permissions: one user each, named by its id. */
export const HUB_SERVICE_PERMISSIONS: Readonly<Record<HubServiceId, Permissions>> = {
  fleet: FLEET_SERVICE_PERMISSIONS,
  enrolment: ENROLMENT_SERVICE_PERMISSIONS,
};

/** The public enrolment user: publish enrol/renew requests (imported from FLEET), receive the replies. */
export const ENROL_USER_PERMISSIONS: Permissions = {
  pub: { allow: [...ENROL_EXPORTS] },
  sub: { allow: ['_INBOX.>'] },
};

export async function createHubAccounts(): Promise<HubAccounts> {
  const operator = createOperator();
  const operatorSigning = createOperator();
  const system = createAccount();
  const fleet = createAccount();
  const fleetSigning = createAccount();
  const enrol = createAccount();
  const tokenSigning = createAccount();

  const operatorJwt = await encodeOperator('outpost', operator, {
    system_account: system.getPublicKey(),
    signing_keys: [operatorSigning.getPublicKey()],
  });
  const signer = { signer: operatorSigning };
  const systemJwt = await encodeAccount(
    'SYS',
    fromPublic(system.getPublicKey()),
    { limits: NO_NATS_LIMITS },
    signer,
  );
  const fleetJwt = await fleetAccountJwt(fleet.getPublicKey(), operatorSigning, fleetSigning.getPublicKey());
  const enrolJwt = await encodeAccount(
    'ENROL',
    fromPublic(enrol.getPublicKey()),
    {
      limits: { ...NO_NATS_LIMITS, exports: 0, leaf: 0 },
      imports: ENROL_EXPORTS.map((subject) => ({
        name: subject.split('.').at(-1) ?? subject,
        subject,
        account: fleet.getPublicKey(),
        type: 'service' as const,
      })),
    },
    signer,
  );

  const user = async (name: string, account: KeyPair, perms: Permissions | undefined) => {
    const kp = createUser();
    const jwt = await encodeUser(name, kp, account, perms ?? {});
    return credsText(jwt, kp);
  };
  return {
    operatorJwt,
    accountJwts: {
      [system.getPublicKey()]: systemJwt,
      [fleet.getPublicKey()]: fleetJwt,
      [enrol.getPublicKey()]: enrolJwt,
    },
    systemAccount: system.getPublicKey(),
    fleetAccount: fleet.getPublicKey(),
    enrolAccount: enrol.getPublicKey(),
    operatorSeed: seedOf(operator),
    operatorSigningSeed: seedOf(operatorSigning),
    fleetSigningSeed: seedOf(fleetSigning),
    tokenSigningSeed: seedOf(tokenSigning),
    systemUserCreds: await user('system', system, undefined),
    serviceUserCreds: Object.fromEntries(
      await Promise.all(
        HUB_SERVICE_IDS.map(async (id) => [id, await user(id, fleet, HUB_SERVICE_PERMISSIONS[id])] as const),
      ),
    ) as Record<HubServiceId, string>,
    adminUserCreds: await user('admin', fleet, undefined),
    enrolUserCreds: await user('enrol', enrol, ENROL_USER_PERMISSIONS),
  };
}

/** The operator-mode block of a hub member's config: operator, system account, full resolver with preload. */
export function renderHubResolver(
  accounts: HubAccounts,
  operatorJwtFile: string,
  resolverDir: string,
): string {
  const preload = Object.entries(accounts.accountJwts)
    .map(([account, jwt]) => `    ${account}: ${JSON.stringify(jwt)}`)
    .join('\n');
  return [
    `operator: ${JSON.stringify(operatorJwtFile)}`,
    `system_account: ${JSON.stringify(accounts.systemAccount)}`,
    'resolver {',
    '  type: full',
    `  dir: ${JSON.stringify(resolverDir)}`,
    '  allow_delete: false',
    '  interval: "2m"',
    '}',
    'resolver_preload {',
    preload,
    '}',
    '',
  ].join('\n');
}

/** Where writeHubAccounts put each file. */
export interface HubAccountFiles {
  dir: string;
  operatorJwt: string;
  resolverConf: string;
  resolverDir: string;
  operatorSeed: string;
  operatorSigningSeed: string;
  fleetSigningSeed: string;
  tokenSigningSeed: string;
  systemCreds: string;
  /** Each hub service's creds, `<id>.creds`. */
  serviceCreds: Record<HubServiceId, string>;
  adminCreds: string;
  enrolCreds: string;
  accountsJson: string;
}

/**
 * Writes a hub's accounts into dir: JWTs and the public enrol.creds world-readable, every seed and
 * private creds 0600. The operator's identity seed is only needed to make a new signing key: move it
 * off the hub.
 */
export async function writeHubAccounts(
  dir: string,
  accounts: HubAccounts,
  resolverDir: string,
): Promise<HubAccountFiles> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await mkdir(resolverDir, { recursive: true, mode: 0o700 });
  const files: HubAccountFiles = {
    dir,
    operatorJwt: join(dir, 'operator.jwt'),
    resolverConf: join(dir, 'resolver.conf'),
    resolverDir,
    operatorSeed: join(dir, 'operator.nk'),
    operatorSigningSeed: join(dir, 'operator-signing.nk'),
    fleetSigningSeed: join(dir, 'fleet-signing.nk'),
    tokenSigningSeed: join(dir, 'token-signing.nk'),
    systemCreds: join(dir, 'system.creds'),
    serviceCreds: Object.fromEntries(HUB_SERVICE_IDS.map((id) => [id, join(dir, `${id}.creds`)])) as Record<
      HubServiceId,
      string
    >,
    adminCreds: join(dir, 'admin.creds'),
    enrolCreds: join(dir, 'enrol.creds'),
    accountsJson: join(dir, 'accounts.json'),
  };
  const secret = (file: string, text: string) =>
    writeFile(file, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600, flag: 'wx' });
  const open = (file: string, text: string) =>
    writeFile(file, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o644, flag: 'wx' });
  await open(files.operatorJwt, accounts.operatorJwt);
  await open(files.resolverConf, renderHubResolver(accounts, files.operatorJwt, resolverDir));
  await secret(files.operatorSeed, accounts.operatorSeed);
  await secret(files.operatorSigningSeed, accounts.operatorSigningSeed);
  await secret(files.fleetSigningSeed, accounts.fleetSigningSeed);
  await secret(files.tokenSigningSeed, accounts.tokenSigningSeed);
  await secret(files.systemCreds, accounts.systemUserCreds);
  for (const id of HUB_SERVICE_IDS) await secret(files.serviceCreds[id], accounts.serviceUserCreds[id]);
  await secret(files.adminCreds, accounts.adminUserCreds);
  // Public on purpose: its user can only ask the enrolment service to enrol or renew.
  await open(files.enrolCreds, accounts.enrolUserCreds);
  await open(
    files.accountsJson,
    JSON.stringify(
      {
        systemAccount: accounts.systemAccount,
        fleetAccount: accounts.fleetAccount,
        enrolAccount: accounts.enrolAccount,
      },
      null,
      2,
    ),
  );
  return files;
}
