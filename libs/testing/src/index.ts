// Test helpers shared by the Outpost libs and apps: disposable NATS servers and clients connected to them.
export {
  connectTo,
  startNatsServer,
  type NatsServerHandle,
  type StartNatsServerOptions,
} from './nats-server.js';
export { freePort } from './free-port.js';
export { resolveNatsServerBinary } from './nats-binary.js';
export { eventually } from './eventually.js';
export { simulatedNodeEnv } from './simulated-node.js';
export { OtlpReceiver, type OtlpRequest, type OtlpSignal } from './otlp-receiver.js';
export { FluentReceiver, type FluentEntry } from './fluent-receiver.js';
export { makeFleetCerts, type CertPair, type FleetCerts } from './test-pki.js';
export { bootctlList, type ListedEntry } from './bootctl.js';
