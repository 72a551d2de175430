// Free loopback ports for test servers and their extra listeners (cluster, leafnode, monitoring).
import { createServer } from 'node:net';

/** Every test server listens on loopback only. */
export const LOOPBACK = '127.0.0.1';

/**
 * Asks the kernel for a free loopback port by listening on port 0. The port is free when this resolves,
 * not reserved: use it right away (e.g. for the cluster or leafnode listener of a server about to start).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}
