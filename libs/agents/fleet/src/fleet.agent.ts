/** The fleet agent: hub-side fleet control plane: inventory, staged rollouts, rollout leases */
import { defineAgent } from '@outpost/agent-runtime';
import { fleetSettings } from './config/fleet.settings.js';
import { FleetModule } from './fleet.module.js';

export const FleetAgent = defineAgent({
  agent: 'fleet' as const,
  description:
    'Outpost fleet agent: hub-side fleet control plane: inventory, staged rollouts, rollout leases',
  module: FleetModule,
  settings: fleetSettings,
});
