/** Publishes edge.<nodeId>.node.evt.heartbeat at start and every heartbeat interval. */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { durationFromMs, timestampNow } from '@bufbuild/protobuf/wkt';
import { NodeApi } from '@outpost/contracts';
import { BusClient } from '@outpost/bus';
import {
  AGENT_CONTEXT,
  AGENT_LOGGER,
  AGENT_SETTINGS,
  ConfigError,
  type AgentContext,
  type SettingsOf,
} from '@outpost/agent-runtime';
import type { nodeSettings } from '../config/node.settings.js';
import { parseLabels } from '../domain/labels.js';
import { NodeHealthService } from '../node-health.service.js';

@Injectable()
export class HeartbeatPublisher implements OnApplicationBootstrap, OnModuleDestroy {
  private sequence = 0;
  private timer?: NodeJS.Timeout;
  private readonly labels: Record<string, string>;

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: SettingsOf<typeof nodeSettings>,
    private readonly client: BusClient,
    private readonly health: NodeHealthService,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {
    const parsed = parseLabels(settings.labels);
    // A bad label stops the agent at start, naming the setting (it would otherwise reach the fleet).
    if (!parsed.ok) throw new ConfigError(`node setting labels: ${parsed.problem}`);
    this.labels = parsed.labels;
  }

  onApplicationBootstrap(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.settings.heartbeatIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    try {
      await this.publishBeat();
    } catch (err) {
      this.logger.warn(`heartbeat not published: ${String(err)}`, 'Heartbeat');
    }
  }

  private async publishBeat(): Promise<void> {
    const hostUptime = await this.ctx.device.hostUptimeSeconds();
    if (this.client.connection.isClosed() || this.client.connection.isDraining()) return;
    this.sequence += 1;
    this.client.publish(NodeApi.evt.heartbeat, {
      nodeId: this.ctx.nodeId,
      sequence: this.sequence,
      time: timestampNow(),
      uptime: durationFromMs(Date.now() - this.ctx.startedAt.getTime()),
      hostUptime: hostUptime === undefined ? undefined : durationFromMs(Math.round(hostUptime * 1000)),
      health: this.health.current().state,
      labels: this.labels,
    });
  }
}
