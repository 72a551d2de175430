/** The telemetry agent: validates and merges telemetry profiles, publishes the effective configuration. */
import { defineAgent } from '@outpost/agent-runtime';
import { telemetrySettings } from './config/telemetry.settings.js';
import { TelemetryModule } from './telemetry.module.js';

export const TelemetryAgent = defineAgent({
  agent: 'telemetry',
  description: 'Outpost telemetry agent: validated, merged telemetry profiles with generations and rollback',
  module: TelemetryModule,
  settings: telemetrySettings,
});
