/** Nest wiring of the update orchestrator. The clock is a provider, so a test can run it on another. */
import { Module, type DynamicModule } from '@nestjs/common';
import { systemClock, type Clock } from './domain/clock.js';
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
export class OrchestratorModule {
  /** The module on `clock` instead of the system clock (its provider replaces the one above). */
  static withClock(clock: Clock): DynamicModule {
    return { module: OrchestratorModule, providers: [{ provide: ORCHESTRATOR_CLOCK, useValue: clock }] };
  }
}
