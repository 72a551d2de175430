/**
 * @outpost/agent-observability: the observability agent's definition (its Nest module and settings),
 * and the service tests and tools may inspect.
 */
export { ObservabilityAgent } from './observability.agent.js';
export { ObservabilityModule } from './observability.module.js';
export { ObservabilityService } from './observability.service.js';
export { bufferNames } from './pipeline.js';
