/** Nest wiring of the update orchestrator. The clock is a provider so a test module can override it. */
import { Module } from '@nestjs/common';
import { systemClock } from './domain/clock.js';
import { DesiredUpdateWatcher } from './handlers/desired-update.watcher.js';
import { OrchestratorCommandsHandler } from './handlers/orchestrator-commands.handler.js';
import { OrchestratorService } from './orchestrator.service.js';
import { ORCHESTRATOR_CLOCK } from './orchestrator.tokens.js';

@Module({
  controllers: [OrchestratorCommandsHandler],
  providers: [
    { provide: ORCHESTRATOR_CLOCK, useValue: systemClock },
    OrchestratorService,
    DesiredUpdateWatcher,
  ],
})
export class OrchestratorModule {}
