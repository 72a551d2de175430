/**
 * An agent's status: published on edge.<nodeId>.<agent>.status on every change and again every
 * status interval (the liveness signal the node agent watches, independent of the agent's work), and
 * kept in KV edge_status. Publishing never throws: while the bus is away the status simply waits.
 */
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { NatsConnection } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import type { LoggerService } from '@nestjs/common';
import {
  AgentState,
  AgentStatusSchema,
  encode,
  kvKeys,
  StatusApi,
  type ServiceId,
  type AgentStatus,
  type NodeHealth,
} from '@outpost/contracts';

export interface StatusIdentity {
  nodeId: string;
  agent: ServiceId;
  version: string;
  instanceId: string;
  startedAt: Date;
  intervalMs: number;
}

export class StatusReporter {
  private state = AgentState.STARTING;
  private reasons: string[] = [];
  private nodeHealth?: NodeHealth;
  private sequence = 0;
  private timer?: NodeJS.Timeout;
  private kvFailing = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV | undefined,
    private readonly id: StatusIdentity,
    private readonly logger: LoggerService,
  ) {}

  /** Publishes now and then every interval. */
  start(): void {
    void this.publish();
    this.timer = setInterval(() => void this.publish(), this.id.intervalMs);
    this.timer.unref();
  }

  get current(): AgentState {
    return this.state;
  }

  /** READY if the agent has not said otherwise while starting. */
  markStarted(): void {
    if (this.state === AgentState.STARTING) this.set(AgentState.READY);
  }

  ready(): void {
    this.set(AgentState.READY);
  }

  degraded(...reasons: string[]): void {
    this.set(AgentState.DEGRADED, reasons);
  }

  set(state: AgentState, reasons: string[] = []): void {
    if (this.state === AgentState.STOPPING) return;
    const changed = state !== this.state || reasons.join('\n') !== this.reasons.join('\n');
    this.state = state;
    this.reasons = reasons;
    if (changed) {
      this.logger.log(
        `status ${AgentState[state]}${reasons.length ? `: ${reasons.join('; ')}` : ''}`,
        'Status',
      );
      void this.publish();
    }
  }

  /** The node agent's status also carries the node's aggregate health. */
  setNodeHealth(health: NodeHealth): void {
    this.nodeHealth = health;
    void this.publish();
  }

  /** Keeps the carried node health current for the next periodic publication, without one now. */
  refreshNodeHealth(health: NodeHealth): void {
    this.nodeHealth = health;
  }

  /** Final word before the process drains: STOPPING, published and flushed. */
  async stopping(reason: string): Promise<void> {
    clearInterval(this.timer);
    this.state = AgentState.STOPPING;
    this.reasons = [reason];
    await this.publish();
  }

  snapshot(): AgentStatus {
    return create(AgentStatusSchema, {
      nodeId: this.id.nodeId,
      agent: this.id.agent,
      state: this.state,
      reasons: this.reasons,
      version: this.id.version,
      instanceId: this.id.instanceId,
      startedAt: timestampFromDate(this.id.startedAt),
      updatedAt: timestampFromDate(new Date()),
      sequence: this.sequence,
      statusIntervalMs: this.id.intervalMs,
      nodeHealth: this.nodeHealth,
    });
  }

  private publish(): Promise<void> {
    this.sequence += 1;
    const status = this.snapshot();
    const bytes = encode(AgentStatusSchema, status);
    if (this.nc.isClosed()) return Promise.resolve();
    try {
      this.nc.publish(StatusApi.subject(this.id.nodeId, this.id.agent), bytes);
    } catch (err) {
      this.logger.warn(`status not published: ${String(err)}`, 'Status');
    }
    if (!this.kv) return Promise.resolve();
    return this.kv.put(kvKeys.status(this.id.nodeId, this.id.agent), bytes).then(
      () => {
        if (this.kvFailing) this.logger.log('status KV writes work again', 'Status');
        this.kvFailing = false;
      },
      (err: unknown) => {
        if (!this.kvFailing) this.logger.warn(`status not written to KV: ${String(err)}`, 'Status');
        this.kvFailing = true;
      },
    );
  }
}
