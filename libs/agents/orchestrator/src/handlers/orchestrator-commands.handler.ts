/** edge.<nodeId>.orchestrator.cmd.{status,windows,history}: ask the engine, answer. */
import { Controller } from '@nestjs/common';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { ContractError, ErrorCode, OrchestratorApi } from '@outpost/contracts';
import { Command, type ReplyOf, type RequestOf } from '@outpost/bus';
import { OrchestratorService } from '../orchestrator.service.js';

const MAX_WINDOWS = 50;

@Controller()
export class OrchestratorCommandsHandler {
  constructor(private readonly engine: OrchestratorService) {}

  @Command(OrchestratorApi.cmd.status)
  status(): ReplyOf<typeof OrchestratorApi.cmd.status> {
    return this.engine.statusMessage();
  }

  @Command(OrchestratorApi.cmd.windows)
  windows(req: RequestOf<typeof OrchestratorApi.cmd.windows>): ReplyOf<typeof OrchestratorApi.cmd.windows> {
    if (req.count > MAX_WINDOWS)
      throw new ContractError(ErrorCode.INVALID_ARGUMENT, `count ${req.count} is above ${MAX_WINDOWS}`, [
        'count',
      ]);
    const view = this.engine.windows(req.count || 5);
    const ts = (w: { start: number; end: number }) => ({
      start: timestampFromMs(w.start),
      end: timestampFromMs(w.end),
    });
    return {
      windows: view.windows.map(ts),
      open: view.open && ts(view.open),
      waitingReason: view.reason,
      startOffsetSeconds: Math.floor(view.offsetMs / 1000),
    };
  }

  @Command(OrchestratorApi.cmd.history)
  history(): ReplyOf<typeof OrchestratorApi.cmd.history> {
    return { runs: this.engine.history() };
  }
}
