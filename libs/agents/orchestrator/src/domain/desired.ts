/**
 * The validation of a desired update lives in @outpost/update-domain (outpostctl applies the same
 * rules before it writes one); re-exported here for the orchestrator's own modules.
 */
export { validateDesired, MAX_CHECKS, MAX_WINDOWS, type Desired } from '@outpost/update-domain';
