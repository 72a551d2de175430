/** The node agent: identity, heartbeat, and the aggregate health of every agent on the node. */
import { defineAgent } from '@outpost/agent-runtime';
import { nodeSettings } from './config/node.settings.js';
import { NodeModule } from './node.module.js';

export const NodeAgent = defineAgent({
  agent: 'node',
  description: 'Outpost node agent: identity, heartbeat and node health',
  module: NodeModule,
  settings: nodeSettings,
});
