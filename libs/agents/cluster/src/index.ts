/** @outpost/agent-cluster: the cluster agent's definition (its Nest module and settings). */
export { ClusterAgent } from './cluster.agent.js';
export { ClusterModule } from './cluster.module.js';
