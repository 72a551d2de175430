/** The hardware agent. */
import { defineAgent } from '@outpost/agent-runtime';
import { hardwareSettings } from './config/hardware.settings.js';
import { HardwareModule } from './hardware.module.js';

export const HardwareAgent = defineAgent({
  agent: 'hardware',
  description: 'Outpost hardware agent',
  module: HardwareModule,
  settings: hardwareSettings,
});
