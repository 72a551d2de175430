/** edge.hub.enrolment.cmd.*: decoded by the transport, answered by the service. */
import { Controller } from '@nestjs/common';
import { EnrolmentApi } from '@outpost/contracts';
import { Command, type ReplyOf, type RequestOf } from '@outpost/bus';
import { EnrolmentService } from '../enrolment.service.js';

type Api = typeof EnrolmentApi.cmd;

@Controller()
export class EnrolmentCommandsHandler {
  constructor(private readonly service: EnrolmentService) {}

  @Command(EnrolmentApi.cmd.createToken)
  createToken(req: RequestOf<Api['createToken']>): Promise<ReplyOf<Api['createToken']>> {
    return this.service.createToken(req);
  }

  @Command(EnrolmentApi.cmd.enrol)
  enrol(req: RequestOf<Api['enrol']>): Promise<ReplyOf<Api['enrol']>> {
    return this.service.enrol(req);
  }

  @Command(EnrolmentApi.cmd.renew)
  renew(req: RequestOf<Api['renew']>): Promise<ReplyOf<Api['renew']>> {
    return this.service.renew(req);
  }

  @Command(EnrolmentApi.cmd.revoke)
  revoke(req: RequestOf<Api['revoke']>): Promise<ReplyOf<Api['revoke']>> {
    return this.service.revoke(req);
  }

  @Command(EnrolmentApi.cmd.list)
  list(): Promise<ReplyOf<Api['list']>> {
    return this.service.list();
  }
}
