/** The cluster agent's endpoints and events. */
import { command, event } from '../catalog.js';
import {
  ClusterStateChangedSchema,
  ClusterStatusSchema,
  ClusterRetryRequestSchema,
  ClusterStatusRequestSchema,
} from '../gen/outpost/cluster/v1/cluster_pb.js';

export const ClusterApi = {
  agent: 'cluster',
  cmd: {
    status: command(
      'cluster',
      'status',
      ClusterStatusRequestSchema,
      ClusterStatusSchema,
      'Cluster state, the desired state worked towards, readiness, last error and attempts',
    ),
    retry: command(
      'cluster',
      'retry',
      ClusterRetryRequestSchema,
      ClusterStatusSchema,
      'Retry the failed install or uninstall now instead of after the backoff (only in CLUSTER_STATE_ERROR)',
    ),
  },
  evt: {
    state: event(
      'cluster',
      'state',
      ClusterStateChangedSchema,
      'Published on every change of the cluster state machine',
    ),
  },
} as const;
