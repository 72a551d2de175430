/**
 * @outpost/agent-telemetry: the telemetry agent's definition (its Nest module and settings), plus the
 * profile rules (catalog, validation, merge) tools may use to check a profile before writing it.
 */
export { TelemetryAgent } from './telemetry.agent.js';
export { TelemetryModule } from './telemetry.module.js';
export { INPUT_CATALOG, mergeProfiles, validateProfile, type ProfileLimits } from './domain/profile.js';
