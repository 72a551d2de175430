/** The hardware agent: the node's hardware inventory, published when it changes. */
import { defineAgent } from '@outpost/agent-runtime';
import { hardwareSettings } from './config/hardware.settings.js';
import { HardwareModule } from './hardware.module.js';

export const HardwareAgent = defineAgent({
  agent: 'hardware',
  description: 'Outpost hardware agent: inventory of the node, published on change',
  module: HardwareModule,
  settings: hardwareSettings,
});
