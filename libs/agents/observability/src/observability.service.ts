/**
 * The data plane's engine: takes each effective telemetry configuration (from the telemetry agent's
 * KV copy, which is written before evt.config and survives restarts), builds the pipeline for it
 * next to the one in force, switches over without restarting the process, and reports the result
 * to the telemetry agent (cmd.report-apply). A configuration that cannot be applied leaves the
 * pipeline in force running and is reported as failed, which makes the telemetry agent roll back.
 * Configurations are applied one at a time, in order.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  ExporterState,
  ObservabilityStatusSchema,
  ObservedExporterSchema,
  ObservedInputSchema,
  OfflineBufferSchema,
  TelemetryApi,
  type ObservabilityStatus,
  type TelemetryConfig,
} from '@outpost/contracts';
import { BusClient, type BusStores } from '@outpost/bus';
import {
  AGENT_CONTEXT,
  AGENT_LOGGER,
  BUS_STORES,
  AGENT_SETTINGS,
  StatusReporter,
  type AgentContext,
  type SettingsOf,
  SerialQueue,
} from '@outpost/agent-runtime';
import type { observabilitySettings } from './config/observability.settings.js';
import { planOf, type Plan } from './domain/plan.js';
import { PrometheusEndpoint } from './export/prometheus.endpoint.js';
import { tracerSwitch } from './export/tracing.js';
import { ApplyError, Pipeline } from './pipeline.js';

const LOG = 'Observability';
type Settings = SettingsOf<typeof observabilitySettings>;

export interface ApplyOutcome {
  generation: number;
  ok: boolean;
  reason: string;
}

@Injectable()
export class ObservabilityService implements OnApplicationBootstrap, OnModuleDestroy {
  private pipeline?: Pipeline;
  private readonly prometheus: PrometheusEndpoint;
  private readonly queue = new SerialQueue();
  private generation = 0;
  private failed?: { generation: number; reason: string };
  private skipped: Plan['skipped'] = [];
  private stopped = false;
  /** Told after each apply (tests and tools wait on it). */
  readonly applied: ApplyOutcome[] = [];

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: Settings,
    private readonly client: BusClient,
    private readonly status: StatusReporter,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
    @Inject(BUS_STORES) private readonly stores: BusStores,
  ) {
    this.prometheus = new PrometheusEndpoint(settings.prometheusHost);
  }

  onApplicationBootstrap(): void {
    this.reportHealth();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.queue.run(async () => {
      const sw = tracerSwitch();
      if (this.pipeline?.tracerProvider && sw.current === this.pipeline.tracerProvider)
        sw.current = undefined;
      await this.pipeline?.stop();
      this.pipeline = undefined;
      await this.prometheus.stop();
    });
  }

  /** A new effective configuration (replays of the generation in force are ignored). */
  receive(config: TelemetryConfig): Promise<void> {
    return this.queue.run(async () => {
      const generation = Number(config.generation);
      if (this.stopped || generation <= this.generation || generation === this.failed?.generation) return;
      const outcome = await this.apply(config);
      this.applied.push(outcome);
      await this.report(outcome);
    });
  }

  get current(): Pipeline | undefined {
    return this.pipeline;
  }

  get prometheusEndpoint(): PrometheusEndpoint {
    return this.prometheus;
  }

  private async apply(config: TelemetryConfig): Promise<ApplyOutcome> {
    const plan = planOf(config);
    let next: Pipeline;
    try {
      next = await Pipeline.build(plan, {
        nc: this.client.connection,
        nodeId: this.ctx.nodeId,
        provisionBuffers: this.stores.provisionedBy === 'agents',
        agent: this.ctx.agent,
        version: this.ctx.version,
        instanceId: this.ctx.instanceId,
        settings: this.settings,
        prometheus: this.prometheus,
        logger: this.logger,
        onSinkChange: (name, state, error) => {
          this.logger.log(
            `${name} is ${state === 'up' ? 'reachable again' : `unreachable (${error}): buffering`}`,
            LOG,
          );
          this.reportHealth();
        },
      });
    } catch (err) {
      const reason = err instanceof ApplyError ? err.message : `cannot build the pipeline: ${String(err)}`;
      this.failed = { generation: plan.generation, reason };
      this.logger.warn(`generation ${plan.generation} not applied: ${reason}; the previous one stays`, LOG);
      this.reportHealth();
      return { generation: plan.generation, ok: false, reason };
    }
    const previous = this.pipeline;
    await previous?.stop();
    await this.prometheus.use(next.prometheusServer, next.prometheusExporter);
    tracerSwitch().current = next.tracerProvider;
    this.pipeline = next;
    await next.start();
    this.generation = plan.generation;
    this.skipped = plan.skipped;
    this.failed = undefined;
    this.logger.log(
      `generation ${plan.generation} applied: ${plan.metrics.length} metric inputs, ${plan.logs.length} log inputs, exporters ${Object.keys(plan.exporters).join(', ') || 'none'}`,
      LOG,
    );
    this.reportHealth();
    return { generation: plan.generation, ok: true, reason: '' };
  }

  private async report(outcome: ApplyOutcome): Promise<void> {
    try {
      const reply = await this.client.request(TelemetryApi.cmd.reportApply, {
        generation: BigInt(outcome.generation),
        ok: outcome.ok,
        reason: outcome.reason,
      });
      if (reply.rolledBack) this.logger.warn(`telemetry rolled back: ${reply.outcome}`, LOG);
    } catch (err) {
      this.logger.warn(`apply report of generation ${outcome.generation} not delivered: ${String(err)}`, LOG);
    }
  }

  statusMessage(): ObservabilityStatus {
    const p = this.pipeline;
    const inputs = (p?.inputReports ?? []).map((r) =>
      create(ObservedInputSchema, {
        input: r.input,
        signal: r.signal,
        intervalSeconds: r.intervalSeconds,
        level: r.level ?? '',
        collected: BigInt(r.collected),
        lastError: r.lastError,
        lastCollectedAt: r.lastCollectedAt && timestampFromDate(r.lastCollectedAt),
      }),
    );
    for (const s of this.skipped)
      inputs.push(create(ObservedInputSchema, { input: s.input, lastError: `not collected: ${s.reason}` }));
    const exporters = [...(p?.sinks.values() ?? [])].map((s) => {
      const r = s.report;
      return create(ObservedExporterSchema, {
        name: r.name,
        target: r.target,
        state: r.state === 'up' ? ExporterState.UP : ExporterState.BUFFERING,
        lastError: r.lastError,
        delivered: BigInt(r.delivered),
        buffer: create(OfflineBufferSchema, {
          stream: r.buffer.stream,
          depth: BigInt(r.buffer.depth),
          bytes: BigInt(r.buffer.bytes),
          dropped: BigInt(r.buffer.dropped),
        }),
      });
    });
    if (p?.plan.exporters.prometheus)
      exporters.push(
        create(ObservedExporterSchema, {
          name: 'prometheus',
          target: this.prometheus.target,
          state: ExporterState.UP,
          delivered: BigInt(this.prometheus.scrapes),
        }),
      );
    return create(ObservabilityStatusSchema, {
      generation: BigInt(this.generation),
      failedGeneration: BigInt(this.failed?.generation ?? 0),
      failedReason: this.failed?.reason ?? '',
      inputs,
      exporters,
      tracing: p?.tracerProvider !== undefined,
      reasons: this.reasons(),
    });
  }

  private reasons(): string[] {
    const reasons: string[] = [];
    if (this.failed) reasons.push(`generation ${this.failed.generation} not applied: ${this.failed.reason}`);
    for (const s of this.pipeline?.sinks.values() ?? []) {
      const r = s.report;
      if (r.state === 'buffering')
        reasons.push(`${r.name} ${r.target} unreachable (${r.lastError}): buffering`);
    }
    return reasons;
  }

  private reportHealth(): void {
    const reasons = this.reasons();
    if (reasons.length) this.status.degraded(...reasons);
    else this.status.ready();
  }
}
