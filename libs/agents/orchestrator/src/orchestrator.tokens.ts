/** Nest injection tokens of the orchestrator (a test module can override the clock). */
export const ORCHESTRATOR_CLOCK = Symbol('ORCHESTRATOR_CLOCK');
