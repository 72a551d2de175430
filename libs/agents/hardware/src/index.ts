/**
 * @outpost/agent-hardware: the hardware agent's definition (its Nest module and settings), and
 * scanOnce/scanFacts for the bench and tools that want an inventory without a bus.
 */
export { HardwareAgent } from './hardware.agent.js';
export { HardwareModule } from './hardware.module.js';
export { scanFacts, scanOnce, type ScanResult } from './scanner/scan.js';
