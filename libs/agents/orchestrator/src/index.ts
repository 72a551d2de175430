/**
 * @outpost/agent-orchestrator: the update orchestrator's definition (its Nest module and settings),
 * plus the rules operators and tools (outpostctl) use to check a desired update before writing it,
 * preview a schedule and read rollout leases.
 */
export { OrchestratorAgent } from './orchestrator.agent.js';
export { OrchestratorModule } from './orchestrator.module.js';
export { ORCHESTRATOR_CLOCK } from './orchestrator.tokens.js';
export { ShiftedClock, systemClock, TestClock, type Clock } from './domain/clock.js';
export {
  nextWindows,
  windowAt,
  canStartInstall,
  parseWindow,
  type Interval,
  type WindowSpec,
} from './domain/windows.js';
export { validateDesired, type Desired } from './domain/desired.js';
export { parseLease, type Lease } from './domain/lease.js';
export { hubLeaseBucket, RolloutLeases, type Acquired } from './leases/rollout-leases.js';
