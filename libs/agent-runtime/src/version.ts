/** The Outpost version, from the runtime package (the suite is versioned as one). */
import { readFileSync } from 'node:fs';

/** Set by the app bundler (tools/scripts/pack-apps.mjs): a bundle has no package.json beside it. */
declare const OUTPOST_BUNDLED_VERSION: string | undefined;

export const OUTPOST_VERSION: string =
  typeof OUTPOST_BUNDLED_VERSION === 'string'
    ? OUTPOST_BUNDLED_VERSION
    : (
        JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
          version: string;
        }
      ).version;
