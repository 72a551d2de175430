/** @outpost/nats-config: a node's nats-server configuration, users and nkey seeds, from the permission table. */
export * from './users.js';
export * from './server-config.js';
export * from './seeds.js';
export * from './write-config.js';
export * from './provision.js';
export * from './docs.js';
export * from './hub-accounts.js';
