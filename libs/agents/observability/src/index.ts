/**
 * @outpost/agent-observability: the observability agent's definition (its Nest module and settings),
 * the service tests and tools may inspect, and the offline-buffer delivery the bench measures.
 */
export { ObservabilityAgent } from './observability.agent.js';
export { ObservabilityModule } from './observability.module.js';
export { ObservabilityService } from './observability.service.js';
export { BufferedSink, type Transport } from './export/buffered-sink.js';
export { OfflineBuffer } from './export/offline-buffer.js';
export { OtlpHttpTransport } from './export/otlp-http.transport.js';
