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
import { setTimeout as sleep } from 'node:timers/promises';
import type { KvWatchEntry } from '@nats-io/kv';
import { kvKeys } from '@outpost/contracts';
import type { BusStores } from '@outpost/bus';
import { AGENT_CONTEXT, AGENT_LOGGER, BUS_STORES, type AgentContext } from '@outpost/agent-runtime';
import { TelemetryService, type ProfileSource } from '../telemetry.service.js';

const LOG = 'Profiles';
const REWATCH_MS = 1_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

@Injectable()
export class ProfileWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private closed = false;
  private readonly stops: (() => void)[] = [];
  private running: Promise<void>[] = [];

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    private readonly engine: TelemetryService,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {}

  onApplicationBootstrap(): void {
    this.running = [
      this.watch('fleet', kvKeys.fleetTelemetry()),
      this.watch('node', kvKeys.desired(this.ctx.nodeId, 'telemetry')),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    for (const stop of this.stops) stop();
    await Promise.all(this.running);
  }

  private async watch(source: ProfileSource, key: string): Promise<void> {
    while (!this.closed) {
      try {
        const watcher = await this.stores.desired.watch({ key });
        this.stops.push(() => watcher.stop());
        if (this.closed) watcher.stop();
        for await (const entry of watcher) await this.receive(source, entry);
      } catch (err) {
        if (!this.closed) this.logger.warn(`watch of ${key} failed: ${String(err)}`, LOG);
      }
      if (!this.closed) await sleep(REWATCH_MS);
    }
  }

  private async receive(source: ProfileSource, entry: KvWatchEntry): Promise<void> {
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
