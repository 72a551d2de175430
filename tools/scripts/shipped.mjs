// What ships, for the scripts that run it (npm start, npm run bench) and the tests that start apps as
// processes: the entry file of an app (packed by pack-apps.mjs) and how the units run Node.
import { join } from 'node:path';

/** Node flags of every Outpost unit (deploy/systemd ExecStart=), measured in docs/performance.md. */
export const NODE_FLAGS = ['--max-semi-space-size=1', '--no-opt', '--no-maglev'];

/** Environment of every Outpost unit (deploy/systemd Environment=), measured in docs/performance.md. */
export const NODE_ENV = { MALLOC_ARENA_MAX: '1' };

/**
 * The environment of an app's unit: NODE_ENV, and V8's compile cache in cacheRoot/<app> (the units' is
 * CacheDirectory=outpost/<app>); without cacheRoot, no compile cache.
 */
export function unitEnv(app, cacheRoot) {
  return cacheRoot ? { ...NODE_ENV, NODE_COMPILE_CACHE: join(cacheRoot, app) } : { ...NODE_ENV };
}

/** The entry file of an app as it ships, in the repository (the install bundle has it as dist/main.js). */
export function shippedMain(root, app) {
  return join(root, 'apps', app, 'dist', 'bundle', 'main.js');
}
