/**
 * Watches KV edge_desired <nodeId>.update (one key: the 2.9 server cannot watch a key list) and hands
 * each value's JSON text to the engine, which validates it strictly. A deleted key is not an order
 * to undo anything: the last desired state stays (write another version to change course).
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { kvKeys, KV_DESIRED } from '@outpost/contracts';
import { watchKey, type BusStores, type KeyEntry, type KeyWatch } from '@outpost/bus';
import { AGENT_CONTEXT, AGENT_LOGGER, BUS_STORES, type AgentContext } from '@outpost/agent-runtime';
import { OrchestratorService } from '../orchestrator.service.js';

const LOG = 'Desired';
const utf8 = new TextDecoder('utf-8', { fatal: true });

@Injectable()
export class DesiredUpdateWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private watch?: KeyWatch;

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    private readonly engine: OrchestratorService,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {}

  onApplicationBootstrap(): void {
    const key = kvKeys.desiredUpdate(this.ctx.nodeId);
    this.watch = watchKey(
      this.stores,
      { bucket: KV_DESIRED, key, nodeId: this.ctx.nodeId, agent: this.ctx.agent },
      (entry) => this.receive(entry),
      {
        onError: (err) => this.logger.warn(`watch of ${key} failed: ${String(err)}`, LOG),
      },
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.watch?.stop();
  }

  private receive(entry: KeyEntry): void {
    if (entry.operation !== 'PUT') {
      this.logger.warn(
        `desired update ${entry.operation} (revision ${entry.revision}); keeping the last one`,
        LOG,
      );
      return;
    }
    let text: string;
    try {
      text = utf8.decode(entry.value);
    } catch {
      void this.engine.receiveDesired('not UTF-8', entry.revision);
      return;
    }
    void this.engine.receiveDesired(text, entry.revision);
  }
}
