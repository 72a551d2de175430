// Disposable NATS servers for tests. Every call gets its own server on a free port with a fresh JetStream
// store, so tests never touch (or get polluted by) the shared development server on 127.0.0.1:4222, can run
// in parallel, and can restart "their" server to exercise client reconnects without disturbing anyone else.
// A local nats-server binary is used by default (binary-server.ts); a NATS container when a Docker engine
// answers (nats-container.ts).
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { startBinaryServer } from './binary-server.js';
import { dockerAnswers, startContainerServer } from './nats-container.js';

export interface NatsServerHandle {
  /** Client URL, e.g. nats://127.0.0.1:41234. Stays the same across restart() for the local binary. */
  url: string;
  port: number;
  /** JetStream store directory (inside the container when running under Docker). */
  storeDir: string;
  /** Stops the server and deletes its store. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops and starts the server again on the same port and store, resolving once it accepts clients.
   * With whileDown, starts again only once it resolves (an outage of a chosen length, e.g. of a cluster).
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

export interface StartNatsServerOptions {
  /**
   * Enable JetStream with `-js -sd <storeDir>` (default true). Pass false when configText has its own
   * `jetstream { store_dir: ... }` (nats-server refuses a store_dir given twice).
   */
  jetstream?: boolean;
  /**
   * Extra nats-server configuration file content (e.g. accounts), passed with -c. A function gets the
   * server's store directory, for configs that name files beside the store or need it in a block
   * (a `jetstream { domain: ... }` block keeps its domain: the -js/-sd flags only set what they name).
   */
  configText?: string | ((storeDir: string) => string);
  /**
   * Extra command-line arguments after the built-in ones (local binary only), e.g. a server name or
   * cluster flags. Ports named here or in configText should come from freePort().
   */
  args?: readonly string[];
  /**
   * A nats-server configuration file used as it is (e.g. one rendered by @outpost/nats-config, with its
   * users, permissions and JetStream store), passed with -c. The harness's address and port still win
   * (command-line flags override the file); JetStream and its store come from the file alone, because
   * nats-server refuses -sd next to a store_dir. Exclusive with configText.
   */
  configFile?: string;
}

// Options connectTo() must add for a handle that the plain URL cannot carry (the NATS testcontainer always
// enables user/password auth, and nats.js does not read credentials from the URL).
const extraConnectOptions = new WeakMap<NatsServerHandle, Partial<ConnectionOptions>>();

export async function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  if (opts.configText !== undefined && opts.configFile !== undefined) {
    throw new Error('startNatsServer: give configText or configFile, not both');
  }
  const forced = process.env.OUTPOST_TEST_NATS;
  if (forced !== undefined && forced !== '' && forced !== 'binary' && forced !== 'container') {
    throw new Error(`OUTPOST_TEST_NATS must be "binary" or "container", got "${forced}"`);
  }
  // Extra flags and host file paths (cluster and leaf topologies) only make sense for a local process.
  const needsBinary = opts.args !== undefined || typeof opts.configText === 'function';
  if (forced === 'binary' || (needsBinary && forced !== 'container')) return startBinaryServer(opts);
  if (forced === 'container') return viaContainer(opts);
  if (await dockerAnswers()) {
    try {
      return await viaContainer(opts);
    } catch (err) {
      // A reachable engine can still fail to pull or run the image (offline CI); the binary is equally valid.
      console.warn(`outpost-testing: NATS container failed, using the nats-server binary: ${String(err)}`);
    }
  }
  return startBinaryServer(opts);
}

/** A container's handle, with the credentials connectTo() must add remembered for it. */
async function viaContainer(opts: StartNatsServerOptions): Promise<NatsServerHandle> {
  const { handle, connectOptions } = await startContainerServer(opts);
  extraConnectOptions.set(handle, connectOptions);
  return handle;
}

/**
 * Connects to a test server as 'outpost-test'. Reconnect defaults are tuned for restart(): retry quickly, but
 * give up after ~15 s so a connection someone forgot to close does not keep the test runner alive for long.
 */
export async function connectTo(
  handle: NatsServerHandle,
  opts: Partial<ConnectionOptions> = {},
): Promise<NatsConnection> {
  return connect({
    servers: handle.url,
    name: 'outpost-test',
    // The handshake (TLS, nkey) on a machine that other work keeps busy: nats.js gives up after 20 s.
    timeout: 60_000,
    reconnectTimeWait: 200,
    maxReconnectAttempts: 75,
    ...extraConnectOptions.get(handle),
    ...opts,
  });
}
