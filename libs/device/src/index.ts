/** @outpost/device: the node's machine (real Linux or the simulator) behind one interface. */
export * from './device.js';
export * from './boot/bls.js';
export { EspBootLoader, type OneShotStore } from './boot/esp-boot-loader.js';
export { DirectEspWriter, TEMP_SUFFIX, type EspWriter } from './boot/esp-writer.js';
export * from './disk/partitions.js';
export * from './slots.js';
export { LinuxDevice, readLoaderVariable, type LinuxDeviceOptions } from './linux.device.js';
export {
  BootHelper,
  HelperEspWriter,
  HelperOneShot,
  systemctlRunner,
  type HelperOp,
  type HelperRunner,
} from './boot/boot-helper.js';
export { SimulatedDevice, SIMULATED_DISK, type BootRecord } from './simulated.device.js';
