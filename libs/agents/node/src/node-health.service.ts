/**
 * Keeps the node's health: records every agent status seen on edge.<nodeId>.*.status (seeded from KV
 * edge_status at start), re-judges on every status and on a timer (so silence is noticed), and when
 * the verdict changes publishes it: in the node agent's own status, as evt.health, and in KV.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Subscription } from '@nats-io/nats-core';
import {
  AgentStatusSchema,
  ContractError,
  decode,
  encode,
  HealthState,
  kvKeys,
  NodeApi,
  NodeHealthSchema,
  wildcards,
  type AgentStatus,
  type NodeHealth,
} from '@outpost/contracts';
import { BusClient, type BusStores } from '@outpost/bus';
import {
  AGENT_CONTEXT,
  AGENT_LOGGER,
  AGENT_SETTINGS,
  BUS_STORES,
  StatusReporter,
  type AgentContext,
  type SettingsOf,
} from '@outpost/agent-runtime';
import type { nodeSettings } from './config/node.settings.js';
import { evaluateHealth, ObservationTable, verdictChanged, type HealthVerdict } from './domain/health.js';

type NodeSettings = SettingsOf<typeof nodeSettings>;

@Injectable()
export class NodeHealthService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly table = new ObservationTable();
  private verdict?: HealthVerdict;
  private health: NodeHealth;
  private sub?: Subscription;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: NodeSettings,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    private readonly client: BusClient,
    private readonly status: StatusReporter,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {
    this.health = create(NodeHealthSchema, { nodeId: ctx.nodeId });
    if (settings.staleAfterMs <= ctx.common.statusIntervalMs) {
      this.logger.warn(
        `staleAfterMs (${settings.staleAfterMs}) is not above the status interval (${ctx.common.statusIntervalMs}): agents will flap`,
        'Health',
      );
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.seedFromKv();
    this.sub = this.client.connection.subscribe(wildcards.statuses(this.ctx.nodeId), {
      callback: (err, msg) => {
        if (err) return;
        try {
          this.record(decode(AgentStatusSchema, msg.data), performance.now());
        } catch (e) {
          const reason = e instanceof ContractError ? e.message : String(e);
          this.logger.warn(`status on ${msg.subject} rejected: ${reason}`, 'Health');
        }
      },
    });
    const tick = Math.max(100, Math.min(1_000, Math.floor(this.settings.staleAfterMs / 4)));
    this.timer = setInterval(() => this.evaluate(), tick);
    this.timer.unref();
    this.evaluate();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.sub?.unsubscribe();
  }

  current(): NodeHealth {
    return this.health;
  }

  /** The most recent status of every agent seen on the node. */
  agents(): AgentStatus[] {
    return this.table.latest();
  }

  private record(status: AgentStatus, receivedAt: number): void {
    if (status.nodeId !== this.ctx.nodeId) {
      this.logger.warn(`status of node ${status.nodeId} on this node's subject ignored`, 'Health');
      return;
    }
    this.table.record(status, receivedAt);
    this.evaluate();
  }

  /** Last statuses from before this start, aged by their own timestamps. */
  private async seedFromKv(): Promise<void> {
    try {
      const keys = await this.stores.status.keys(kvKeys.statuses(this.ctx.nodeId));
      const now = performance.now();
      for await (const key of keys) {
        const entry = await this.stores.status.get(key);
        if (!entry || entry.operation !== 'PUT') continue;
        const status = decode(AgentStatusSchema, entry.value);
        const age = status.updatedAt
          ? Math.max(0, Date.now() - timestampDate(status.updatedAt).getTime())
          : Infinity;
        if (Number.isFinite(age)) this.table.record(status, now - age);
      }
    } catch (err) {
      this.logger.warn(`could not read earlier statuses from KV: ${String(err)}`, 'Health');
    }
  }

  private evaluate(): void {
    const now = performance.now();
    this.table.prune(now, this.settings.staleAfterMs * 10);
    const verdict = evaluateHealth(this.table, this.policy(), now);
    if (!verdictChanged(this.verdict, verdict)) return;
    const stateChanged = this.verdict?.state !== verdict.state;
    this.verdict = verdict;
    this.health = this.toMessage(verdict, stateChanged ? new Date() : undefined);
    this.logger.log(
      `node ${HealthState[verdict.state]}: ${verdict.reasons.join('; ') || 'all required agents READY'}`,
      'Health',
    );
    this.status.setNodeHealth(this.health);
    try {
      this.client.publish(NodeApi.evt.health, this.health);
    } catch (err) {
      this.logger.warn(`health event not published: ${String(err)}`, 'Health');
    }
    this.stores.status
      .put(kvKeys.nodeHealth(this.ctx.nodeId), encode(NodeHealthSchema, this.health))
      .catch((err: unknown) => this.logger.warn(`health not written to KV: ${String(err)}`, 'Health'));
  }

  private policy() {
    return { required: this.settings.requiredAgents, staleAfterMs: this.settings.staleAfterMs };
  }

  private toMessage(verdict: HealthVerdict, since: Date | undefined): NodeHealth {
    const wallNow = Date.now();
    const monoNow = performance.now();
    return create(NodeHealthSchema, {
      nodeId: this.ctx.nodeId,
      state: verdict.state,
      reasons: verdict.reasons,
      since: since ? timestampFromDate(since) : this.health.since,
      evaluatedAt: timestampFromDate(new Date(wallNow)),
      agents: verdict.agents.map((a) => ({
        agent: a.agent,
        state: a.latest?.status.state,
        required: a.required,
        stale: a.stale,
        reasons: a.up ? [] : a.reasons,
        lastSeen: a.latest
          ? timestampFromDate(new Date(wallNow - (monoNow - a.latest.receivedAt)))
          : undefined,
        instanceId: a.latest?.status.instanceId ?? '',
        version: a.latest?.status.version ?? '',
      })),
    });
  }
}
