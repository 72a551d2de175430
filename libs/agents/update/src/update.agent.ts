/** The platform-update agent: signed A/B image updates, written only to the inactive slot. */
import { defineAgent } from '@outpost/agent-runtime';
import { updateSettings } from './config/update.settings.js';
import { UpdateModule } from './update.module.js';

export const UpdateAgent = defineAgent({
  agent: 'update',
  description: 'Outpost platform-update agent: signed A/B image download, install, reboot, commit',
  module: UpdateModule,
  settings: updateSettings,
});
