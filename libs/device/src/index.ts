/** @outpost/device: the node's machine (real Linux or the simulator) behind one interface. */
export * from './device.js';
export { LinuxDevice } from './linux.device.js';
export { SimulatedDevice } from './simulated.device.js';
