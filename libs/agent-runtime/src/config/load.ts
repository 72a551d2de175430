/** Reads the optional JSON config files and turns them into typed settings. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadSettings, type SettingsOf, type SettingsSpec } from './settings.js';

export function readConfigFile(path: string): { path: string; values: Record<string, unknown> } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`${path}: cannot be read: ${(err as Error).message}`);
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: is not JSON: ${(err as Error).message}`);
  }
  if (values === null || typeof values !== 'object' || Array.isArray(values)) {
    throw new ConfigError(`${path}: must hold a JSON object`);
  }
  return { path, values: values as Record<string, unknown> };
}

/** Settings of `name` from <configDir>/<name>.json and OUTPOST_<NAME>_* variables. */
export function loadConfig<S extends SettingsSpec>(
  spec: S,
  configDir: string,
  name: string,
  env: NodeJS.ProcessEnv,
): SettingsOf<S> {
  return loadSettings(spec, {
    file: readConfigFile(join(configDir, `${name}.json`)),
    env,
    envPrefix: `OUTPOST_${name.toUpperCase().replace(/-/g, '_')}`,
  });
}
