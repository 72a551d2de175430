/**
 * The NATS connection of an agent process: reconnects forever (an edge node's local server restarts
 * with the node; agents must outlive that), waits for the server on first connect, and reports every
 * connection state change to the caller's logger.
 */
import { connect } from '@nats-io/transport-node';
import {
  errors as natsErrors,
  credsAuthenticator,
  nkeyAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from '@nats-io/nats-core';

export interface BusConnectionOptions {
  /** nats:// URL(s) of the server; default nats://127.0.0.1:4222. */
  servers: string | string[];
  /** Client name, shown by `nats server report connections`. */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** NATS user nkey seed (the content of a .nk file): authenticates as that user. */
  nkeySeed?: Uint8Array;
  /** A .creds file's content (user JWT + seed), for a server in operator mode; wins over nkeySeed. */
  creds?: Uint8Array;
  /** Prefix of this connection's reply subjects, e.g. _INBOX.<user>, so permissions can allow them narrowly. */
  inboxPrefix?: string;
  /** Delay between reconnect attempts, ms (default 250: a local server is back within seconds). */
  reconnectTimeWaitMs?: number;
  /** Extra options passed to the client as they are. */
  extra?: Partial<ConnectionOptions>;
}

export interface BusLogger {
  log(message: string, context?: string): void;
  warn(message: string, context?: string): void;
  error(message: string, context?: string): void;
}

export async function connectBus(options: BusConnectionOptions, logger?: BusLogger): Promise<NatsConnection> {
  const nc = await connect({
    servers: options.servers,
    name: options.name,
    user: options.user,
    pass: options.pass,
    token: options.token,
    authenticator: options.creds
      ? credsAuthenticator(options.creds)
      : options.nkeySeed
        ? nkeyAuthenticator(options.nkeySeed)
        : undefined,
    inboxPrefix: options.inboxPrefix,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectTimeWaitMs ?? 250,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
    ...options.extra,
  });
  if (logger) void watchConnection(nc, logger);
  return nc;
}

async function watchConnection(nc: NatsConnection, logger: BusLogger): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case 'disconnect':
        logger.warn(`disconnected from ${status.server}`, 'Bus');
        break;
      case 'reconnect':
        logger.log(`reconnected to ${status.server}`, 'Bus');
        break;
      case 'error':
        logger.error(describeStatusError(status.error), 'Bus');
        break;
      case 'slowConsumer':
        logger.warn(`slow consumer on ${status.sub.getSubject()}`, 'Bus');
        break;
      default:
        break;
    }
  }
}

/**
 * A permission violation is the server refusing one publish or subscription: the connection stays up
 * and the agent goes on, but an operator must see which subject the user may not use.
 */
export function describeStatusError(error: Error): string {
  if (error instanceof natsErrors.PermissionViolationError) {
    const queue = error.queue ? ` (queue ${error.queue})` : '';
    return `PERMISSIONS_VIOLATION: the NATS server refused ${error.operation} on "${error.subject}"${queue}: not granted to this user (see the permission table in @outpost/contracts)`;
  }
  return `connection error: ${String(error)}`;
}
