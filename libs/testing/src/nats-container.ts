// A test server as a NATS container (testcontainers), used when a Docker engine answers.
import { existsSync } from 'node:fs';
import type { ConnectionOptions } from '@nats-io/transport-node';
import type { StartedNatsContainer } from '@testcontainers/nats';
import type { NatsServerHandle, StartNatsServerOptions } from './nats-server.js';

const DOCKER_CHECK_TIMEOUT_MS = 3_000;
const CONTAINER_IMAGE = process.env.OUTPOST_TEST_NATS_IMAGE ?? 'nats:2.9.10-alpine';
const CONTAINER_STORE_DIR = '/data/jetstream';
const CONTAINER_CONFIG_FILE = '/etc/nats/outpost-test.conf';

let dockerCheck: Promise<boolean> | undefined;

/** Cheap first (env / socket file), then a bounded ask of testcontainers; cached for the process. */
export function dockerAnswers(): Promise<boolean> {
  dockerCheck ??= (async () => {
    if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('docker check timed out')), DOCKER_CHECK_TIMEOUT_MS);
      });
      await Promise.race([getContainerRuntimeClient(), timeout]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  })();
  return dockerCheck;
}

/** A started container's handle, and the credentials every client must add (NatsContainer always sets them). */
export interface ContainerServer {
  handle: NatsServerHandle;
  connectOptions: Partial<ConnectionOptions>;
}

export async function startContainerServer(opts: StartNatsServerOptions): Promise<ContainerServer> {
  if (opts.args !== undefined || typeof opts.configText === 'function' || opts.configFile !== undefined) {
    // configFile: its users would clash with the --user/--pass NatsContainer always adds, and it may name
    // host files.
    throw new Error(
      'startNatsServer: args, configFile and a configText function need the local nats-server binary (OUTPOST_TEST_NATS=binary)',
    );
  }
  const { NatsContainer } = await import('@testcontainers/nats');
  const definition = new NatsContainer(CONTAINER_IMAGE);
  if (opts.jetstream ?? true) definition.withJetStream().withArg('--store_dir', CONTAINER_STORE_DIR);
  if (opts.configText !== undefined) {
    // Note: NatsContainer always passes --user/--pass, which nats-server rejects next to a users list.
    definition
      .withCopyContentToContainer([{ content: String(opts.configText), target: CONTAINER_CONFIG_FILE }])
      .withArg('--config', CONTAINER_CONFIG_FILE);
  }
  const container: StartedNatsContainer = await definition.start();
  const clientPort = () => container.getMappedPort(4222);
  let stopped: Promise<void> | undefined;

  const handle: NatsServerHandle = {
    // Getters: Docker may map a different host port after a container restart.
    get url() {
      return `nats://${container.getHost()}:${clientPort()}`;
    },
    get port() {
      return clientPort();
    },
    storeDir: CONTAINER_STORE_DIR,
    stop() {
      stopped ??= container.stop().then(() => undefined);
      return stopped;
    },
    async restart(whileDown) {
      if (stopped) throw new Error('NATS test container was stopped');
      if (whileDown) {
        await container.stop({ remove: false });
        await whileDown();
        await container.restart();
        return;
      }
      // Restarting (not recreating) keeps the container filesystem, so the JetStream store survives.
      await container.restart();
    },
  };
  return { handle, connectOptions: { user: container.username, pass: container.password } };
}
