/**
 * Watches the two profile keys of KV edge_desired: fleet.telemetry (fleet defaults) and
 * <nodeId>.telemetry (this node). One watch per key: the 2.9 server cannot watch a key list.
 * Each value goes to the engine as text, which validates it strictly.
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
import { TelemetryService, type ProfileSource } from '../telemetry.service.js';

const LOG = 'Profiles';
const utf8 = new TextDecoder('utf-8', { fatal: true });

@Injectable()
export class ProfileWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private watches: KeyWatch[] = [];

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    private readonly engine: TelemetryService,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {}

  onApplicationBootstrap(): void {
    this.watches = [
      this.watch('fleet', kvKeys.fleetTelemetry()),
      this.watch('node', kvKeys.desired(this.ctx.nodeId, 'telemetry')),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.stop()));
  }

  private watch(source: ProfileSource, key: string): KeyWatch {
    return watchKey(
      this.stores,
      { bucket: KV_DESIRED, key, nodeId: this.ctx.nodeId, agent: this.ctx.agent },
      (entry) => this.receive(source, entry),
      {
        onError: (err) => this.logger.warn(`watch of ${key} failed: ${String(err)}`, LOG),
      },
    );
  }

  private async receive(source: ProfileSource, entry: KeyEntry): Promise<void> {
    let text: string | undefined;
    if (entry.operation === 'PUT') {
      try {
        text = utf8.decode(entry.value);
      } catch {
        text = '"not UTF-8"'; // a JSON string, so the engine rejects it with a decode reason
      }
    }
    await this.engine.receive(source, entry.revision, text);
  }
}
