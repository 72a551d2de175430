/** Nest wiring of the observability agent (data plane). */
import { Module } from '@nestjs/common';
import { EffectiveConfigWatcher } from './handlers/effective-config.watcher.js';
import { ObservabilityCommandsHandler } from './handlers/observability-commands.handler.js';
import { ObservabilityService } from './observability.service.js';

@Module({
  controllers: [ObservabilityCommandsHandler],
  providers: [ObservabilityService, EffectiveConfigWatcher],
})
export class ObservabilityModule {}
