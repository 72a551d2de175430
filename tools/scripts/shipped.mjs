// What ships, for the scripts that run it (npm start, npm run bench) and the tests that start apps as
// processes: the entry file of an app and the Node flags the units run it with.
import { join } from 'node:path';

/** Node flags of every Outpost unit (deploy/systemd), measured in docs/performance.md. */
export const NODE_FLAGS = [];

/** The entry file of an app as it ships. */
export function shippedMain(root, app) {
  return join(root, 'apps', app, 'dist', 'main.js');
}
