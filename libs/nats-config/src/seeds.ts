/**
 * The users' nkey seeds: one file per user, `<dir>/<user>.nk`, mode 0400. A seed that exists is kept,
 * so rendering again (an upgrade, a changed table) never changes a user's identity.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';

export interface UserSeed {
  file: string;
  publicKey: string;
  created: boolean;
}

export async function ensureUserSeed(dir: string, user: string): Promise<UserSeed> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${user}.nk`);
  try {
    const seed = await readSeedFile(file);
    return { file, publicKey: fromSeed(seed).getPublicKey(), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = createUser();
  // wx: never overwrite a seed another run wrote meanwhile.
  await writeFile(file, `${new TextDecoder().decode(pair.getSeed())}\n`, { mode: 0o400, flag: 'wx' });
  await chmod(file, 0o400);
  return { file, publicKey: pair.getPublicKey(), created: true };
}

/** Reads a seed file (the seed alone, surrounding white space ignored); throws if it is not a user seed. */
export async function readSeedFile(file: string): Promise<Uint8Array> {
  const seed = new TextEncoder().encode((await readFile(file, 'utf8')).trim());
  const pair = fromSeed(seed);
  if (!pair.getPublicKey().startsWith('U')) throw new Error(`${file} is not a NATS user nkey seed`);
  return seed;
}
