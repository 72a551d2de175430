/** Nest wiring of the fleet service. */
import { Module } from '@nestjs/common';
import { FleetCommandsHandler } from './handlers/fleet-commands.handler.js';
import { FleetEventsConsumer } from './handlers/fleet-events.consumer.js';
import { FleetService } from './fleet.service.js';

@Module({
  controllers: [FleetCommandsHandler],
  providers: [FleetService, FleetEventsConsumer],
})
export class FleetModule {}
