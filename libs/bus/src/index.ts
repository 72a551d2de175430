/** @outpost/bus: NATS connection, the Nest transport and client, JetStream assets, micro discovery, tracing. */
export * from './connection.js';
export * from './fleet.js';
export * from './client.js';
export * from './jetstream.js';
export * from './kv-watch.js';
export * from './micro.js';
export * from './trace.js';
export * from './transport/outpost-nats.server.js';
export * from './transport/rpc-context.js';
export * from './transport/decorators.js';
export * from './transport/exception.filter.js';
