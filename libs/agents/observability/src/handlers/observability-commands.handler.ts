/** edge.<nodeId>.observability.cmd.status: what is collected, the exporters, the offline buffers. */
import { Controller } from '@nestjs/common';
import { ObservabilityApi } from '@outpost/contracts';
import { Command, type ReplyOf } from '@outpost/bus';
import { ObservabilityService } from '../observability.service.js';

@Controller()
export class ObservabilityCommandsHandler {
  constructor(private readonly engine: ObservabilityService) {}

  @Command(ObservabilityApi.cmd.status)
  status(): ReplyOf<typeof ObservabilityApi.cmd.status> {
    return this.engine.statusMessage();
  }
}
