/**
 * Keeps the node's health. Records every agent status seen live on edge.<nodeId>.*.status (checking
 * that the body speaks for the agent its subject names), seeds what agents last said from KV
 * edge_status at start (for the record only: a seeded status never makes an agent up), and judges on
 * every status and on a timer, so silence is noticed. A changed verdict is published at once — in the
 * node agent's own status, as evt.health and in KV — and the KV copy is refreshed every status
 * interval (and retried after a failed write), so a reader can tell how fresh it is.
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
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Msg, Subscription } from '@nats-io/nats-core';
import {
  AgentStatusSchema,
  ContractError,
  decode,
  encode,
  HealthState,
  AGENT_IDS,
  isAgentId,
  kvKeys,
  NodeApi,
  NodeHealthSchema,
  parseSubject,
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
import { evaluateHealth, ObservationTable, verdictKey, type HealthVerdict } from './domain/health.js';

type NodeSettings = SettingsOf<typeof nodeSettings>;

@Injectable()
export class NodeHealthService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly table = new ObservationTable();
  private verdict?: HealthVerdict;
  private verdictKey = '';
  private since = new Date();
  private sub?: Subscription;
  private timer?: NodeJS.Timeout;
  private lastKvWrite = 0;
  private kvDirty = true;

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: NodeSettings,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    private readonly client: BusClient,
    private readonly status: StatusReporter,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {
    if (settings.staleAfterMs <= 2 * ctx.common.statusIntervalMs) {
      this.logger.warn(
        `staleAfterMs (${settings.staleAfterMs}) is not above twice the status interval (${ctx.common.statusIntervalMs}); ` +
          'agents are judged lost only after two of their own intervals',
        'Health',
      );
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.seedFromKv();
    this.sub = this.client.connection.subscribe(wildcards.statuses(this.ctx.nodeId), {
      callback: (err, msg) => {
        if (err) this.logger.error(`status subscription failed: ${String(err)}`, 'Health');
        else this.receive(msg);
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

  /** The verdict now (judged at the moment of the call). */
  current(): NodeHealth {
    return this.evaluate();
  }

  /** The most recent status of every agent seen on the node. */
  agents(): AgentStatus[] {
    return this.table.latest();
  }

  private receive(msg: Msg): void {
    let status: AgentStatus;
    try {
      status = decode(AgentStatusSchema, msg.data);
    } catch (e) {
      const reason = e instanceof ContractError ? e.message : String(e);
      this.logger.warn(`status on ${msg.subject} rejected: ${reason}`, 'Health');
      return;
    }
    const subject = parseSubject(msg.subject);
    if (
      !subject ||
      subject.agent !== status.agent ||
      !isAgentId(status.agent) ||
      status.nodeId !== this.ctx.nodeId
    ) {
      this.logger.warn(
        `status on ${msg.subject} rejected: it speaks for agent "${status.agent}" of node "${status.nodeId}"`,
        'Health',
      );
      return;
    }
    this.table.record(status, performance.now());
    this.evaluate();
  }

  /** What agents said before this start: shown, never trusted as alive. */
  private async seedFromKv(): Promise<void> {
    try {
      // One get per known agent: listing keys would need a consumer of the agent's choosing.
      const now = performance.now();
      for (const agent of AGENT_IDS) {
        const entry = await this.stores.status.get(kvKeys.status(this.ctx.nodeId, agent));
        if (!entry || entry.operation !== 'PUT') continue;
        const status = decode(AgentStatusSchema, entry.value);
        if (isAgentId(status.agent) && status.nodeId === this.ctx.nodeId)
          this.table.record(status, now, true);
      }
    } catch (err) {
      this.logger.warn(`could not read earlier statuses from KV: ${String(err)}`, 'Health');
    }
  }

  private evaluate(): NodeHealth {
    const now = performance.now();
    this.table.prune(now, this.settings.staleAfterMs * 10);
    const verdict = evaluateHealth(this.table, this.policy(), now);
    const key = verdictKey(verdict);
    const changed = key !== this.verdictKey;
    this.verdictKey = key;
    if (this.verdict?.state !== verdict.state) this.since = new Date();
    this.verdict = verdict;
    const health = this.toMessage(verdict, now);
    if (changed) {
      this.logger.log(
        `node ${HealthState[verdict.state]}: ${verdict.reasons.join('; ') || 'all required agents READY'}`,
        'Health',
      );
      this.status.setNodeHealth(health);
      this.publishEvent(health);
      this.kvDirty = true;
    } else {
      this.status.refreshNodeHealth(health);
    }
    if (this.kvDirty || Date.now() - this.lastKvWrite >= this.ctx.common.statusIntervalMs)
      this.writeKv(health);
    return health;
  }

  private publishEvent(health: NodeHealth): void {
    if (this.client.connection.isClosed()) return;
    try {
      this.client.publish(NodeApi.evt.health, health);
    } catch (err) {
      this.logger.warn(`health event not published: ${String(err)}`, 'Health');
    }
  }

  private writeKv(health: NodeHealth): void {
    if (this.client.connection.isClosed() || this.client.connection.isDraining()) return;
    this.lastKvWrite = Date.now();
    this.kvDirty = false;
    this.stores.status
      .put(kvKeys.nodeHealth(this.ctx.nodeId), encode(NodeHealthSchema, health))
      .catch((err: unknown) => {
        if (!this.kvDirty)
          this.logger.warn(`health not written to KV (will retry): ${String(err)}`, 'Health');
        this.kvDirty = true;
      });
  }

  private policy() {
    return { required: this.settings.requiredAgents, staleAfterMs: this.settings.staleAfterMs };
  }

  private toMessage(verdict: HealthVerdict, monoNow: number): NodeHealth {
    const wallNow = Date.now();
    return create(NodeHealthSchema, {
      nodeId: this.ctx.nodeId,
      state: verdict.state,
      reasons: verdict.reasons,
      since: timestampFromDate(this.since),
      evaluatedAt: timestampFromDate(new Date(wallNow)),
      agents: verdict.agents.map((a) => ({
        agent: a.agent,
        state: a.latest?.status.state,
        required: a.required,
        stale: a.stale,
        reasons: a.up ? [] : a.reasons,
        lastSeen: a.latest
          ? a.latest.seeded
            ? a.latest.status.updatedAt
            : timestampFromDate(new Date(wallNow - (monoNow - a.latest.receivedAt)))
          : undefined,
        instanceId: a.latest?.status.instanceId ?? '',
        version: a.latest?.status.version ?? '',
      })),
    });
  }
}
