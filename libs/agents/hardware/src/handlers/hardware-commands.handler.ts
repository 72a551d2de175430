/** edge.<nodeId>.hardware.cmd.inventory and .rescan: decoded by the transport, answered by the service. */
import { Controller } from '@nestjs/common';
import { HardwareApi } from '@outpost/contracts';
import { Command, type ReplyOf } from '@outpost/bus';
import { InventoryService } from '../inventory.service.js';

@Controller()
export class HardwareCommandsHandler {
  constructor(private readonly inventory: InventoryService) {}

  @Command(HardwareApi.cmd.inventory)
  current(): ReplyOf<typeof HardwareApi.cmd.inventory> {
    return this.inventory.current();
  }

  @Command(HardwareApi.cmd.rescan)
  rescan(): Promise<ReplyOf<typeof HardwareApi.cmd.rescan>> {
    return this.inventory.rescan();
  }
}
