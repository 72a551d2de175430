import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeUser, fmtCreds } from '@nats-io/jwt';
import { createAccount, createUser } from '@nats-io/nkeys';
import { readCredsFile, readNkeySeed, resolveNkeyFile } from './nats-credentials.js';
import { ConfigError } from './settings.js';

describe('NATS nkey credentials', () => {
  let dir: string;
  const seed = new TextDecoder().decode(createUser().getSeed());

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-nkey-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes the configured file first', () => {
    expect(resolveNkeyFile('/etc/x.nk', { CREDENTIALS_DIRECTORY: dir })).toBe('/etc/x.nk');
  });

  it('else the systemd credential nats.nk, only when it exists', async () => {
    expect(resolveNkeyFile('', { CREDENTIALS_DIRECTORY: dir })).toBeUndefined();
    await writeFile(join(dir, 'nats.nk'), `${seed}\n`, { mode: 0o400 });
    expect(resolveNkeyFile('', { CREDENTIALS_DIRECTORY: dir })).toBe(join(dir, 'nats.nk'));
    expect(resolveNkeyFile('', {})).toBeUndefined();
  });

  it('reads a user seed, surrounding white space ignored', async () => {
    expect(new TextDecoder().decode(await readNkeySeed(join(dir, 'nats.nk')))).toBe(seed);
  });

  it('refuses a missing file or one that holds no user seed, naming it', async () => {
    await expect(readNkeySeed(join(dir, 'missing.nk'))).rejects.toThrow(ConfigError);
    await writeFile(join(dir, 'bad.nk'), 'not a seed');
    await expect(readNkeySeed(join(dir, 'bad.nk'))).rejects.toThrow(
      /bad\.nk does not hold a NATS user nkey seed/,
    );
  });

  it('reads a .creds file (user JWT and seed) and refuses one without both, naming it', async () => {
    const user = createUser();
    const creds = fmtCreds(await encodeUser('hub-service', user, createAccount()), user);
    await writeFile(join(dir, 'svc.creds'), creds, { mode: 0o400 });
    expect(await readCredsFile(join(dir, 'svc.creds'))).toEqual(creds);
    await writeFile(join(dir, 'seed-only.creds'), `${seed}\n`);
    await expect(readCredsFile(join(dir, 'seed-only.creds'))).rejects.toThrow(
      /seed-only\.creds is not a NATS \.creds file/,
    );
    await expect(readCredsFile(join(dir, 'missing.creds'))).rejects.toThrow(ConfigError);
  });
});
