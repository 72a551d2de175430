/** Nest wiring of the fleet agent. */
import { Module } from '@nestjs/common';
import { FleetCommandsHandler } from './handlers/fleet-commands.handler.js';
import { FleetService } from './fleet.service.js';

@Module({
  controllers: [FleetCommandsHandler],
  providers: [FleetService],
})
export class FleetModule {}
