/** The update orchestrator: when to update (maintenance windows), the health trial, commit or roll back. */
import { defineAgent } from '@outpost/agent-runtime';
import { orchestratorSettings } from './config/orchestrator.settings.js';
import { OrchestratorModule } from './orchestrator.module.js';

export const OrchestratorAgent = defineAgent({
  agent: 'orchestrator',
  description: 'Outpost update orchestrator: maintenance windows, health trial, commit or rollback',
  module: OrchestratorModule,
  settings: orchestratorSettings,
});
