/** @outpost/agent-enrolment: the hub's enrolment service, and the node's side of enrolment (outpostctl enrol). */
export { EnrolmentAgent } from './enrolment.agent.js';
export { EnrolmentModule } from './enrolment.module.js';
export { nodeUserPermissions } from './domain/node-permissions.js';
export {
  enrolNode,
  ensureNodeKey,
  readCredsLifetime,
  renewalDue,
  renewNode,
  type CredsLifetime,
  type EnrolOptions,
  type EnrolResult,
  type RenewOptions,
} from './node/enrol-client.js';
