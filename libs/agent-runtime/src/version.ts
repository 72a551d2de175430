/** The Outpost version, from the runtime package (the suite is versioned as one). */
import { readFileSync } from 'node:fs';

export const OUTPOST_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
