/**
 * @outpost/agent-orchestrator: the update orchestrator's definition (its Nest module and settings),
 * plus the window rules operators and tools may use to preview a schedule.
 */
export { OrchestratorAgent } from './orchestrator.agent.js';
export { OrchestratorModule } from './orchestrator.module.js';
export { ORCHESTRATOR_CLOCK } from './orchestrator.tokens.js';
export { systemClock, TestClock, type Clock } from './domain/clock.js';
export {
  nextWindows,
  windowAt,
  canStartInstall,
  parseWindow,
  type Interval,
  type WindowSpec,
} from './domain/windows.js';
