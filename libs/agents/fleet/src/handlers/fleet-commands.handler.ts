/** edge.<nodeId>.fleet.cmd.{status,echo}: decoded by the transport, answered by the service. */
import { Controller } from '@nestjs/common';
import { FleetApi } from '@outpost/contracts';
import { Command, type ReplyOf, type RequestOf } from '@outpost/bus';
import { FleetService } from '../fleet.service.js';

@Controller()
export class FleetCommandsHandler {
  constructor(private readonly service: FleetService) {}

  @Command(FleetApi.cmd.status)
  status(): ReplyOf<typeof FleetApi.cmd.status> {
    return this.service.statusMessage();
  }

  @Command(FleetApi.cmd.echo)
  echo(req: RequestOf<typeof FleetApi.cmd.echo>): Promise<ReplyOf<typeof FleetApi.cmd.echo>> {
    return this.service.echo(req);
  }
}
