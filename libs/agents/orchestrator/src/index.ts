/**
 * @outpost/agent-orchestrator: the update orchestrator's definition (its Nest module and settings),
 * its clocks, and the rollout leases. The rules tools share with it (desired-update validation,
 * maintenance windows, the lease rule) live in @outpost/update-domain.
 */
export { OrchestratorAgent } from './orchestrator.agent.js';
export { OrchestratorModule } from './orchestrator.module.js';
export { ORCHESTRATOR_CLOCK } from './orchestrator.tokens.js';
export { ShiftedClock, systemClock, TestClock, type Clock } from './domain/clock.js';
export { hubLeaseBucket, RolloutLeases, type Acquired } from './leases/rollout-leases.js';
