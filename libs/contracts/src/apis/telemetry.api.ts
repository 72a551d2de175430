/** The telemetry agent's endpoints and events (configuration plane). */
import { command, event } from '../catalog.js';
import {
  TelemetryApplyReplySchema,
  TelemetryApplyReportSchema,
  TelemetryConfigSchema,
  TelemetryStatusRequestSchema,
  TelemetryStatusSchema,
} from '../gen/outpost/telemetry/v1/telemetry_pb.js';

export const TelemetryApi = {
  agent: 'telemetry',
  cmd: {
    status: command(
      'telemetry',
      'status',
      TelemetryStatusRequestSchema,
      TelemetryStatusSchema,
      'The effective telemetry configuration, the last good generation, the last rejection and apply report',
    ),
    reportApply: command(
      'telemetry',
      'report-apply',
      TelemetryApplyReportSchema,
      TelemetryApplyReplySchema,
      'The data plane reports the result of applying a generation; a failure rolls back to the last good one',
    ),
  },
  evt: {
    config: event(
      'telemetry',
      'config',
      TelemetryConfigSchema,
      'Published with every new generation of the effective configuration (also after a rollback)',
    ),
  },
} as const;
