/**
 * Watches the telemetry agent's effective configuration (KV edge_status <nodeId>.telemetry.effective).
 * The KV copy is written before evt.config is published and is there after a restart of either
 * agent, so one watch gives both the configuration in force at start and every new generation.
 * A value that does not decode is logged and skipped.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ContractError, decode, kvKeys, KV_STATUS, TelemetryConfigSchema } from '@outpost/contracts';
import { watchKey, type BusStores, type KeyEntry, type KeyWatch } from '@outpost/bus';
import { AGENT_CONTEXT, AGENT_LOGGER, BUS_STORES, type AgentContext } from '@outpost/agent-runtime';
import { ObservabilityService } from '../observability.service.js';

const LOG = 'EffectiveConfig';

@Injectable()
export class EffectiveConfigWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private watch?: KeyWatch;

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    private readonly engine: ObservabilityService,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {}

  onApplicationBootstrap(): void {
    const key = kvKeys.telemetryEffective(this.ctx.nodeId);
    this.watch = watchKey(
      this.stores,
      { bucket: KV_STATUS, key, nodeId: this.ctx.nodeId, agent: this.ctx.agent },
      (entry) => this.receive(entry),
      {
        onError: (err) => this.logger.warn(`watch of ${key} failed: ${String(err)}`, LOG),
      },
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.watch?.stop();
  }

  private async receive(entry: KeyEntry): Promise<void> {
    if (entry.operation !== 'PUT') return;
    let config;
    try {
      config = decode(TelemetryConfigSchema, entry.value);
    } catch (err) {
      const reason = err instanceof ContractError ? err.message : String(err);
      this.logger.warn(`effective configuration revision ${entry.revision} rejected: ${reason}`, LOG);
      return;
    }
    // Not awaited: applying waits for the telemetry agent's answer, which must not hold the watch.
    void this.engine
      .receive(config)
      .catch((err: unknown) =>
        this.logger.error(`applying generation ${config.generation} failed: ${String(err)}`, LOG),
      );
  }
}
