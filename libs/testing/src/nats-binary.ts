// The nats-server binary the test servers run. One lookup for the whole repository: the one `npm start`
// and `npm test` use (tools/scripts/ensure-system-tools.mjs, a plain ES module because those scripts run
// before anything is built), imported here rather than written twice.
// eslint-disable-next-line @nx/enforce-module-boundaries -- tools/scripts is not an Nx project; see above
import { ensureNatsServer } from '../../../tools/scripts/ensure-system-tools.mjs';

/**
 * NATS_SERVER_BIN (which must then be an executable file), else PATH or an sbin directory; when there is
 * none, apt-installs nats-server as root or throws with the ways to get one.
 */
export async function resolveNatsServerBinary(): Promise<string> {
  return ensureNatsServer();
}
