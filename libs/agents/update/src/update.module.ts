/** Nest wiring of the platform-update agent. */
import { Module } from '@nestjs/common';
import { UpdateCommandsHandler } from './handlers/update-commands.handler.js';
import { UpdateService } from './update.service.js';

@Module({
  controllers: [UpdateCommandsHandler],
  providers: [UpdateService],
})
export class UpdateModule {}
