/** The cluster agent. */
import { defineAgent } from '@outpost/agent-runtime';
import { clusterSettings } from './config/cluster.settings.js';
import { ClusterModule } from './cluster.module.js';

export const ClusterAgent = defineAgent({
  agent: 'cluster',
  description: 'Outpost cluster agent',
  module: ClusterModule,
  settings: clusterSettings,
});
