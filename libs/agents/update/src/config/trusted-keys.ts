/**
 * The node's trusted manifest-signing keys, from the settings (trustedKeys) and a key directory
 * (trustedKeysDir, default <configDir>/update-keys.d when it exists). A key that does not parse stops
 * the start (ConfigError naming the file or list item): a node must never run with fewer keys than
 * its operator thinks it has.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@outpost/agent-runtime';
import { parseTrustedKey, type TrustedKey } from '../domain/manifest.js';

export async function loadTrustedKeys(
  listed: readonly string[],
  dir: string,
  defaultDir: string,
): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  const add = (text: string, source: string) => {
    try {
      keys.push(parseTrustedKey(text, source));
    } catch (err) {
      throw new ConfigError(`update trusted keys: ${(err as Error).message}`);
    }
  };
  listed.forEach((text, i) => add(text, `trustedKeys[${i}]`));
  const keyDir = dir || defaultDir;
  let names: string[] = [];
  try {
    names = await readdir(keyDir);
  } catch (err) {
    if (dir || (err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(`update trusted keys: cannot read ${keyDir}: ${(err as Error).message}`);
  }
  for (const name of names.filter((n) => n.endsWith('.pem') || n.endsWith('.pub')).sort())
    add(await readFile(join(keyDir, name), 'utf8'), join(keyDir, name));
  // The same key twice (file and list) counts once.
  return [...new Map(keys.map((k) => [k.id, k])).values()];
}
