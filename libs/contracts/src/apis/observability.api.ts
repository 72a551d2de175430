/** The observability agent's endpoints (data plane). */
import { command } from '../catalog.js';
import {
  ObservabilityStatusRequestSchema,
  ObservabilityStatusSchema,
} from '../gen/outpost/observability/v1/observability_pb.js';

export const ObservabilityApi = {
  agent: 'observability',
  cmd: {
    status: command(
      'observability',
      'status',
      ObservabilityStatusRequestSchema,
      ObservabilityStatusSchema,
      'What is collected, the state of each exporter, offline buffer depth, bytes and drops',
    ),
  },
  evt: {},
} as const;
