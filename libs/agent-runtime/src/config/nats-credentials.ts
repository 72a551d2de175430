/**
 * Which nkey seed an agent authenticates with: the configured file, else the systemd credential
 * `nats.nk` (LoadCredential=nats.nk:/etc/outpost/nats/creds/<user>.nk puts it in $CREDENTIALS_DIRECTORY),
 * else none (a development server without users).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './settings.js';

export const SYSTEMD_NKEY_CREDENTIAL = 'nats.nk';

export function resolveNkeyFile(configured: string, env: NodeJS.ProcessEnv): string | undefined {
  if (configured) return configured;
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!dir) return undefined;
  const file = join(dir, SYSTEMD_NKEY_CREDENTIAL);
  return existsSync(file) ? file : undefined;
}

/** The seed in the file; a missing or malformed file stops the start with a message naming it. */
export async function readNkeySeed(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`natsNkeyFile: cannot read ${file}: ${(err as Error).message}`);
  }
  const seed = text.trim();
  // A user seed: "S" (seed) + "U" (user) + base32, 58 characters.
  if (!/^SU[A-Z2-7]{56}$/.test(seed)) {
    throw new ConfigError(`natsNkeyFile: ${file} does not hold a NATS user nkey seed (SU...)`);
  }
  return new TextEncoder().encode(seed);
}

/** A .creds file (user JWT and seed between the nats-server markers); a missing or malformed one stops the start. */
export async function readCredsFile(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`natsCredsFile: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!/-----BEGIN NATS USER JWT-----/.test(text) || !/^\s*SU[A-Z2-7]{56}\s*$/m.test(text)) {
    throw new ConfigError(`natsCredsFile: ${file} is not a NATS .creds file (user JWT and user seed)`);
  }
  return new TextEncoder().encode(text);
}
