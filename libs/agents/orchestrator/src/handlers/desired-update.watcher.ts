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
import { setTimeout as sleep } from 'node:timers/promises';
import type { KvWatchEntry } from '@nats-io/kv';
import { kvKeys } from '@outpost/contracts';
import type { BusStores } from '@outpost/bus';
import { AGENT_CONTEXT, AGENT_LOGGER, BUS_STORES, type AgentContext } from '@outpost/agent-runtime';
import { OrchestratorService } from '../orchestrator.service.js';

const LOG = 'Desired';
const REWATCH_MS = 1_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

@Injectable()
export class DesiredUpdateWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private closed = false;
  private stopWatch?: () => void;
  private running?: Promise<void>;

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    private readonly engine: OrchestratorService,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {}

  onApplicationBootstrap(): void {
    this.running = this.watch();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.stopWatch?.();
    await this.running;
  }

  private async watch(): Promise<void> {
    const key = kvKeys.desiredUpdate(this.ctx.nodeId);
    while (!this.closed) {
      try {
        const watcher = await this.stores.desired.watch({ key });
        this.stopWatch = () => watcher.stop();
        if (this.closed) watcher.stop();
        for await (const entry of watcher) this.receive(entry);
      } catch (err) {
        if (!this.closed) this.logger.warn(`watch of ${key} failed: ${String(err)}`, LOG);
      }
      if (!this.closed) await sleep(REWATCH_MS);
    }
  }

  private receive(entry: KvWatchEntry): void {
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
      this.engine.receiveDesired('not UTF-8', entry.revision);
      return;
    }
    this.engine.receiveDesired(text, entry.revision);
  }
}
