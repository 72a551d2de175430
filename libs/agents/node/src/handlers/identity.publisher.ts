/** Writes the node identity to KV edge_status (<nodeId>.node.identity) at start: `nats kv get` shows it. */
import { Inject, Injectable, type LoggerService, type OnApplicationBootstrap } from '@nestjs/common';
import { encode, kvKeys, NodeIdentitySchema } from '@outpost/contracts';
import type { BusStores } from '@outpost/bus';
import { AGENT_CONTEXT, AGENT_LOGGER, BUS_STORES, type AgentContext } from '@outpost/agent-runtime';

@Injectable()
export class IdentityPublisher implements OnApplicationBootstrap {
  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.stores.status.put(
        kvKeys.nodeIdentity(this.ctx.nodeId),
        encode(NodeIdentitySchema, this.ctx.identity),
      );
    } catch (err) {
      this.logger.warn(`identity not written to KV: ${String(err)}`, 'Identity');
    }
  }
}
