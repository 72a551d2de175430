/** Nest wiring of the telemetry agent (configuration plane). */
import { Module } from '@nestjs/common';
import { ProfileWatcher } from './handlers/profile.watcher.js';
import { TelemetryCommandsHandler } from './handlers/telemetry-commands.handler.js';
import { TelemetryService } from './telemetry.service.js';

@Module({
  controllers: [TelemetryCommandsHandler],
  providers: [TelemetryService, ProfileWatcher],
})
export class TelemetryModule {}
