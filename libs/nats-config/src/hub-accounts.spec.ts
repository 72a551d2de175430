/**
 * The hub's accounts: a valid signature chain operator -> accounts -> users, the FLEET account's
 * JetStream, exports, signing key and revocations, and files written with the right modes, accepted by
 * the real `nats-server -t` as an operator-mode configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { decode, parseCreds, type Account, type Operator } from '@nats-io/jwt';
import { fromSeed } from '@nats-io/nkeys';
import { HUB_SERVICE_IDS } from '@outpost/contracts';
import { resolveNatsServerBinary } from '@outpost/testing';
import {
  createHubAccounts,
  ENROL_EXPORTS,
  fleetAccountJwt,
  HUB_SERVICE_PERMISSIONS,
  writeHubAccounts,
  type HubAccounts,
} from './hub-accounts.js';

const run = promisify(execFile);
const enc = (s: string) => new TextEncoder().encode(s);

describe('hub accounts', () => {
  let dir: string;
  let accounts: HubAccounts;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-hub-accounts-'));
    accounts = await createHubAccounts();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('signs every account with the operator signing key listed in the operator JWT', () => {
    const operator = decode<Operator>(accounts.operatorJwt);
    const signing = fromSeed(enc(accounts.operatorSigningSeed)).getPublicKey();
    expect(operator.nats.signing_keys).toEqual([signing]);
    expect(operator.nats.system_account).toBe(accounts.systemAccount);
    for (const [account, jwt] of Object.entries(accounts.accountJwts)) {
      const claims = decode<Account>(jwt);
      expect(claims.sub).toBe(account);
      expect(claims.iss).toBe(signing);
    }
  });

  it('gives FLEET JetStream, the enrolment exports and its signing key; ENROL imports them', () => {
    const fleet = decode<Account>(accounts.accountJwts[accounts.fleetAccount]).nats;
    expect(fleet.limits?.disk_storage).toBe(-1);
    expect(fleet.exports?.map((e) => e.subject)).toEqual([...ENROL_EXPORTS]);
    expect(fleet.signing_keys).toEqual([fromSeed(enc(accounts.fleetSigningSeed)).getPublicKey()]);
    const enrol = decode<Account>(accounts.accountJwts[accounts.enrolAccount]).nats;
    expect(enrol.imports?.map((i) => [i.subject, i.account])).toEqual(
      ENROL_EXPORTS.map((s) => [s, accounts.fleetAccount]),
    );
  });

  it('the public enrol user may only publish enrol and renew', async () => {
    const creds = await parseCreds(enc(accounts.enrolUserCreds));
    expect(creds.uc.iss).toBe(accounts.enrolAccount);
    expect(creds.uc.nats.pub?.allow).toEqual([...ENROL_EXPORTS]);
  });

  it('gives every hub service, fleet and enrolment alike, its own FLEET user named by its id', async () => {
    expect(Object.keys(accounts.serviceUserCreds).sort()).toEqual([...HUB_SERVICE_IDS].sort());
    for (const id of HUB_SERVICE_IDS) {
      const creds = await parseCreds(enc(accounts.serviceUserCreds[id]));
      expect(creds.uc.name).toBe(id);
      expect(creds.uc.iss).toBe(accounts.fleetAccount);
      expect(creds.uc.nats.pub?.allow).toEqual(HUB_SERVICE_PERMISSIONS[id].pub?.allow);
      expect(creds.uc.nats.pub?.allow).toContain(`$KV.edge_status.hub.${id}`);
      expect(creds.uc.nats.sub?.allow).toEqual([`edge.hub.${id}.cmd.*`, '$SRV.>', `_INBOX.${id}.>`]);
    }
    // Only the fleet service reads every node's events and writes desired updates into nodes' domains.
    expect(HUB_SERVICE_PERMISSIONS.fleet.pub?.allow).toContain('$JS.*.API.$KV.edge_desired.*.update');
    expect(HUB_SERVICE_PERMISSIONS.enrolment.pub?.allow?.some((s) => /FLEET_EVENTS|\$JS\.\*/.test(s))).toBe(
      false,
    );
  });

  it('re-signs FLEET with revocations, keeping everything else', async () => {
    const jwt = await fleetAccountJwt(
      accounts.fleetAccount,
      fromSeed(enc(accounts.operatorSigningSeed)),
      fromSeed(enc(accounts.fleetSigningSeed)).getPublicKey(),
      { UKEY: 1234 },
    );
    const before = decode<Account>(accounts.accountJwts[accounts.fleetAccount]).nats;
    const after = decode<Account>(jwt).nats;
    expect(after.revocations).toEqual({ UKEY: 1234 });
    expect({ ...after, revocations: {} }).toEqual({ ...before, revocations: {} });
  });

  it('writes the files with their modes, and nats-server accepts the operator-mode config', async () => {
    const files = await writeHubAccounts(join(dir, 'hub'), accounts, join(dir, 'jwt'));
    const mode = async (f: string) => (await stat(f)).mode & 0o777;
    for (const secret of [
      files.operatorSeed,
      files.operatorSigningSeed,
      files.fleetSigningSeed,
      files.tokenSigningSeed,
      files.systemCreds,
      ...Object.values(files.serviceCreds),
      files.adminCreds,
    ]) {
      expect(await mode(secret)).toBe(0o600);
    }
    expect(await mode(files.enrolCreds)).toBe(0o644);
    expect(JSON.parse(await readFile(files.accountsJson, 'utf8')).fleetAccount).toBe(accounts.fleetAccount);
    await expect(writeHubAccounts(join(dir, 'hub'), accounts, join(dir, 'jwt'))).rejects.toThrow(/EEXIST/);

    const conf = join(dir, 'hub', 'hub.conf');
    await writeFile(
      conf,
      `listen: 127.0.0.1:4222\ninclude "${relative(join(dir, 'hub'), files.resolverConf)}"\n`,
    );
    const { stdout, stderr } = await run(await resolveNatsServerBinary(), ['-t', '-c', conf]);
    expect(stdout + stderr).toContain('valid');
  });
});
