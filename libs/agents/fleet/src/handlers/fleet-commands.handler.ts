/** edge.hub.fleet.cmd.*: decoded by the transport, answered by the service. No logic here. */
import { Controller } from '@nestjs/common';
import { FleetApi } from '@outpost/contracts';
import { Command, type ReplyOf, type RequestOf } from '@outpost/bus';
import { FleetService } from '../fleet.service.js';

type Req<K extends keyof typeof FleetApi.cmd> = RequestOf<(typeof FleetApi.cmd)[K]>;
type Rep<K extends keyof typeof FleetApi.cmd> = ReplyOf<(typeof FleetApi.cmd)[K]>;

@Controller()
export class FleetCommandsHandler {
  constructor(private readonly service: FleetService) {}

  @Command(FleetApi.cmd.status)
  status(): Rep<'status'> {
    return this.service.statusMessage();
  }

  @Command(FleetApi.cmd.nodes)
  nodes(req: Req<'nodes'>): Rep<'nodes'> {
    return this.service.nodesPage(req);
  }

  @Command(FleetApi.cmd.node)
  node(req: Req<'node'>): Rep<'node'> {
    return this.service.node(req.nodeId);
  }

  @Command(FleetApi.cmd.labels)
  labels(req: Req<'labels'>): Promise<Rep<'labels'>> {
    return this.service.setLabels(req);
  }

  @Command(FleetApi.cmd.rolloutCreate)
  rolloutCreate(req: Req<'rolloutCreate'>): Promise<Rep<'rolloutCreate'>> {
    return this.service.createRollout(req);
  }

  @Command(FleetApi.cmd.rolloutStatus)
  rolloutStatus(req: Req<'rolloutStatus'>): Rep<'rolloutStatus'> {
    return this.service.rollout(req);
  }

  @Command(FleetApi.cmd.rolloutList)
  rolloutList(): Rep<'rolloutList'> {
    return this.service.list();
  }

  @Command(FleetApi.cmd.rolloutPause)
  rolloutPause(req: Req<'rolloutPause'>): Promise<Rep<'rolloutPause'>> {
    return this.service.operate(req.id, 'pause');
  }

  @Command(FleetApi.cmd.rolloutResume)
  rolloutResume(req: Req<'rolloutResume'>): Promise<Rep<'rolloutResume'>> {
    return this.service.operate(req.id, 'resume');
  }

  @Command(FleetApi.cmd.rolloutAbort)
  rolloutAbort(req: Req<'rolloutAbort'>): Promise<Rep<'rolloutAbort'>> {
    return this.service.operate(req.id, 'abort');
  }
}
