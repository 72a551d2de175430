/** Nest wiring of the hardware agent. */
import { Module } from '@nestjs/common';
import { HardwareCommandsHandler } from './handlers/hardware-commands.handler.js';
import { InventoryService } from './inventory.service.js';

@Module({
  controllers: [HardwareCommandsHandler],
  providers: [InventoryService],
})
export class HardwareModule {}
