/** @outpost/agent-fleet: the fleet agent's definition (its Nest module and settings). */
export { FleetAgent } from './fleet.agent.js';
export { FleetModule } from './fleet.module.js';
