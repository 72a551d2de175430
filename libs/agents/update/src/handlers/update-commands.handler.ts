/** edge.<nodeId>.update.cmd.*: decoded by the transport, handed to the update service, answered with UpdateStatus. */
import { Controller } from '@nestjs/common';
import { UpdateApi } from '@outpost/contracts';
import { Command, type ReplyOf, type RequestOf } from '@outpost/bus';
import { UpdateService } from '../update.service.js';

@Controller()
export class UpdateCommandsHandler {
  constructor(private readonly update: UpdateService) {}

  @Command(UpdateApi.cmd.download)
  download(req: RequestOf<typeof UpdateApi.cmd.download>): Promise<ReplyOf<typeof UpdateApi.cmd.download>> {
    return this.update.download(req.manifest);
  }

  @Command(UpdateApi.cmd.install)
  install(): Promise<ReplyOf<typeof UpdateApi.cmd.install>> {
    return this.update.install();
  }

  @Command(UpdateApi.cmd.status)
  status(): ReplyOf<typeof UpdateApi.cmd.status> {
    return this.update.current();
  }

  @Command(UpdateApi.cmd.abort)
  abort(): Promise<ReplyOf<typeof UpdateApi.cmd.abort>> {
    return this.update.abort();
  }

  @Command(UpdateApi.cmd.reboot)
  reboot(): Promise<ReplyOf<typeof UpdateApi.cmd.reboot>> {
    return this.update.reboot();
  }

  @Command(UpdateApi.cmd.commit)
  commit(): Promise<ReplyOf<typeof UpdateApi.cmd.commit>> {
    return this.update.commit();
  }

  @Command(UpdateApi.cmd.rollback)
  rollback(req: RequestOf<typeof UpdateApi.cmd.rollback>): Promise<ReplyOf<typeof UpdateApi.cmd.rollback>> {
    return this.update.rollback(req.reason, req.detail);
  }
}
