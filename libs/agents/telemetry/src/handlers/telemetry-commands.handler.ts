/** edge.<nodeId>.telemetry.cmd.{status,report-apply}: ask the engine, answer. */
import { Controller } from '@nestjs/common';
import { TelemetryApi } from '@outpost/contracts';
import { Command, type ReplyOf, type RequestOf } from '@outpost/bus';
import { TelemetryService } from '../telemetry.service.js';

@Controller()
export class TelemetryCommandsHandler {
  constructor(private readonly engine: TelemetryService) {}

  @Command(TelemetryApi.cmd.status)
  status(): ReplyOf<typeof TelemetryApi.cmd.status> {
    return this.engine.statusMessage();
  }

  /** The data plane's result of applying a generation; a failure of the one in force rolls back. */
  @Command(TelemetryApi.cmd.reportApply)
  reportApply(
    req: RequestOf<typeof TelemetryApi.cmd.reportApply>,
  ): Promise<ReplyOf<typeof TelemetryApi.cmd.reportApply>> {
    return this.engine.reportApply(req);
  }
}
