/** @outpost/contracts: the only place wire shapes live. Generated messages, the subject catalog, the codec. */
export * from './agents.js';
export * from './subjects.js';
export * from './errors.js';
export * from './codec.js';
export * from './catalog.js';
export * from './registry.js';
export * from './apis/node.api.js';
export * from './apis/hardware.api.js';
export * from './apis/cluster.api.js';
export * from './apis/update.api.js';
export * from './storage.js';
export * from './gen/outpost/common/v1/error_pb.js';
export * from './gen/outpost/common/v1/status_pb.js';
export * from './gen/outpost/node/v1/node_pb.js';
export * from './gen/outpost/hardware/v1/hardware_pb.js';
export * from './gen/outpost/cluster/v1/cluster_pb.js';
export * from './gen/outpost/update/v1/update_pb.js';
