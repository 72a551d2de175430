/** @outpost/agent-runtime: bootstrapping, configuration, logging, status and systemd integration. */
import 'reflect-metadata';
export * from './agent-definition.js';
export * from './bootstrap.js';
export * from './runtime.module.js';
export * from './config/settings.js';
export * from './config/paths.js';
export * from './config/load.js';
export * from './config/common.settings.js';
export * from './config/nats-credentials.js';
export * from './identity/node-identity.js';
export * from './kv/key-watcher.js';
export * from './logging/json-logger.js';
export * from './state/atomic-file.js';
export * from './state/state-file.js';
export * from './status/status-reporter.js';
export * from './systemd/notifier.js';
export * from './version.js';
