/** @outpost/agent-hardware: the hardware agent's definition (its Nest module and settings). */
export { HardwareAgent } from './hardware.agent.js';
export { HardwareModule } from './hardware.module.js';
