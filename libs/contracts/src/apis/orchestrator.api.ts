/** The update orchestrator's endpoints and events. */
import { command, event } from '../catalog.js';
import {
  HistoryReplySchema,
  HistoryRequestSchema,
  OrchestratorStateChangeSchema,
  OrchestratorStatusRequestSchema,
  OrchestratorStatusSchema,
  WindowsReplySchema,
  WindowsRequestSchema,
} from '../gen/outpost/orchestrator/v1/orchestrator_pb.js';

export const OrchestratorApi = {
  agent: 'orchestrator',
  cmd: {
    status: command(
      'orchestrator',
      'status',
      OrchestratorStatusRequestSchema,
      OrchestratorStatusSchema,
      'The orchestration state now: version, state, why waiting or failed',
    ),
    windows: command(
      'orchestrator',
      'windows',
      WindowsRequestSchema,
      WindowsReplySchema,
      'The next maintenance windows (merged), the open one, and why an install waits',
    ),
    history: command(
      'orchestrator',
      'history',
      HistoryRequestSchema,
      HistoryReplySchema,
      'Every orchestration run: version, windows waited, durations, result and reason',
    ),
  },
  evt: {
    state: event(
      'orchestrator',
      'state',
      OrchestratorStateChangeSchema,
      'Published at every orchestration transition',
    ),
  },
} as const;
