/** edge.<nodeId>.node.cmd.describe and .health: decode (by the transport), ask the services, answer. */
import { Controller, Inject } from '@nestjs/common';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { NodeApi } from '@outpost/contracts';
import { Command, type ReplyOf } from '@outpost/bus';
import { AGENT_CONTEXT, type AgentContext } from '@outpost/agent-runtime';
import { NodeHealthService } from '../node-health.service.js';

@Controller()
export class NodeCommandsHandler {
  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    private readonly health: NodeHealthService,
  ) {}

  @Command(NodeApi.cmd.describe)
  async describe(): Promise<ReplyOf<typeof NodeApi.cmd.describe>> {
    const hostUptime = await this.ctx.device.hostUptimeSeconds();
    return {
      identity: this.ctx.identity,
      agents: this.health.agents(),
      uptime: durationFromMs(Date.now() - this.ctx.startedAt.getTime()),
      hostUptime: hostUptime === undefined ? undefined : durationFromMs(Math.round(hostUptime * 1000)),
      version: this.ctx.version,
    };
  }

  @Command(NodeApi.cmd.health)
  healthNow(): ReplyOf<typeof NodeApi.cmd.health> {
    return this.health.current();
  }
}
