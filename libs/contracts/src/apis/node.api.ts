/** The node agent's endpoints and events. */
import { command, event } from '../catalog.js';
import { NodeHealthSchema } from '../gen/outpost/common/v1/status_pb.js';
import {
  DescribeReplySchema,
  DescribeRequestSchema,
  HealthRequestSchema,
  HeartbeatSchema,
} from '../gen/outpost/node/v1/node_pb.js';

export const NodeApi = {
  agent: 'node',
  cmd: {
    describe: command(
      'node',
      'describe',
      DescribeRequestSchema,
      DescribeReplySchema,
      'Node identity, every agent seen on the node, uptime and version',
    ),
    health: command(
      'node',
      'health',
      HealthRequestSchema,
      NodeHealthSchema,
      'The aggregate health of the node: HEALTHY only when every required agent is READY and fresh',
    ),
  },
  evt: {
    heartbeat: event('node', 'heartbeat', HeartbeatSchema, 'Published every heartbeat interval'),
    health: event('node', 'health', NodeHealthSchema, 'Published when the aggregate health changes'),
  },
} as const;
