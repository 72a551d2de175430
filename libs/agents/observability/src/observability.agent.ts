/** The observability agent: collects host metrics and logs, exports them as the telemetry profile says. */
import { defineAgent } from '@outpost/agent-runtime';
import { observabilitySettings } from './config/observability.settings.js';
import { ObservabilityModule } from './observability.module.js';

export const ObservabilityAgent = defineAgent({
  agent: 'observability',
  description: 'Outpost observability agent: host metrics, logs and traces to OTLP, Prometheus and Fluent',
  module: ObservabilityModule,
  settings: observabilitySettings,
});
