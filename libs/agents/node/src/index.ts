/** @outpost/agent-node: the node agent's definition (its Nest module and settings). */
export { NodeAgent } from './node.agent.js';
export { NodeModule } from './node.module.js';
