/**
 * One running data plane for one plan: the host inputs and log sources, the OpenTelemetry providers
 * (metrics, logs, traces) with their readers and exporters, and the sinks with their offline
 * buffers. `build` checks and reserves everything that can fail (endpoints that do not resolve, a
 * port in use, the buffer streams) without disturbing the pipeline in force; `start` runs it;
 * `stop` exports what is pending and releases everything.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import type { LoggerService } from '@nestjs/common';
import type { Logger, Meter, SeverityNumber } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { LoggerProvider, LogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { TracerProvider } from '@opentelemetry/sdk-trace';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { NatsConnection } from '@nats-io/nats-core';
import { type OBS_BUFFER_SINKS, obsBufferNames } from '@outpost/contracts';
import { exportIntervalMs, otlpUrl, type Plan } from './domain/plan.js';
import { severityName } from './domain/levels.js';
import { BufferedSink, type SinkReport, type SinkState } from './export/buffered-sink.js';
import type { FluentForwardTransport } from './export/fluent-forward.transport.js';
import type * as OtelSdk from './export/otel-sdk.js';
import { OfflineBuffer } from './export/offline-buffer.js';
import { OtlpHttpTransport } from './export/otlp-http.transport.js';
import type { PrometheusEndpoint } from './export/prometheus.endpoint.js';
import { registerHostInstruments } from './sources/host-instruments.js';
import { hostReaders, type HostSamples, type Roots } from './sources/host-readers.js';
import { FileTailSource, JournalSource, type LogRecordOut, type LogSource } from './sources/log-sources.js';
import { SampledInput, type InputReport } from './sources/sampled-input.js';

export interface PipelineDeps {
  nc: NatsConnection;
  nodeId: string;
  /** The agents provision JetStream (a server without NATS users): the buffers take the settings' limits. */
  provisionBuffers: boolean;
  agent: string;
  /** Name of the process (observability, or edge-node with every agent). */
  version: string;
  instanceId: string;
  settings: {
    bufferMaxBytes: number;
    bufferMaxAgeSeconds: number;
    retryIntervalMs: number;
    exportTimeoutMs: number;
    logBatchDelayMs: number;
    journalUnits: string;
    journalCommand: string;
  };
  prometheus: PrometheusEndpoint;
  logger: LoggerService;
  roots?: Roots;
  onSinkChange: (name: string, state: SinkState, error: string) => void;
}

/** A configuration that cannot be applied; the message names the field and the cause. */
export class ApplyError extends Error {}

export type SinkName = (typeof OBS_BUFFER_SINKS)[number];

const LOG = 'Pipeline';

async function checkResolves(host: string, field: string): Promise<void> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) || bare === 'localhost') return;
  try {
    await lookup(bare);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A name that does not exist is a configuration error; a DNS server that is away is an outage.
    if (code === 'ENOTFOUND') throw new ApplyError(`${field}: host "${bare}" does not resolve`);
  }
}

export class Pipeline {
  readonly inputs: SampledInput<unknown>[] = [];
  readonly logSources: LogSource[] = [];
  readonly sinks = new Map<SinkName, BufferedSink>();
  private meterProvider?: MeterProvider;
  private loggerProvider?: LoggerProvider;
  tracerProvider?: TracerProvider;
  prometheusExporter?: PrometheusExporter;
  prometheusServer?: Server;
  private otelLogger?: Logger;

  private constructor(
    readonly plan: Plan,
    private readonly deps: PipelineDeps,
  ) {}

  static async build(plan: Plan, deps: PipelineDeps): Promise<Pipeline> {
    const p = new Pipeline(plan, deps);
    try {
      await p.prepare();
      return p;
    } catch (err) {
      await p.release();
      throw err;
    }
  }

  private async prepare(): Promise<void> {
    const { plan, deps } = this;
    const x = plan.exporters;
    if (x.otlpHttp) await checkResolves(new URL(x.otlpHttp.endpoint).hostname, 'exporters.otlpHttp.endpoint');
    if (x.fluentForward) await checkResolves(x.fluentForward.host, 'exporters.fluentForward.host');
    if (x.prometheus) {
      try {
        this.prometheusServer = await deps.prometheus.prepare(x.prometheus.port);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new ApplyError(
          `exporters.prometheus.port ${x.prometheus.port}: ${code === 'EADDRINUSE' ? 'in use' : String(err)}`,
        );
      }
    }
    // Loaded here, not at start: without an exporter nothing reads the instruments (the inputs still
    // sample for cmd.status), and the SDK, its exporters and the Fluent client stay out of memory.
    if (Object.keys(x).length === 0) {
      this.addInputs();
      return;
    }
    const sdk = await import('./export/otel-sdk.js');
    const resource = this.resource(sdk);
    const t = deps.settings.exportTimeoutMs;
    if (x.otlpHttp) {
      await this.sink('otlp-metrics', new OtlpHttpTransport(otlpUrl(x.otlpHttp.endpoint, 'metrics'), t));
      await this.sink('otlp-traces', new OtlpHttpTransport(otlpUrl(x.otlpHttp.endpoint, 'traces'), t));
      if (plan.logs.length)
        await this.sink('otlp-logs', new OtlpHttpTransport(otlpUrl(x.otlpHttp.endpoint, 'logs'), t));
    }
    if (x.fluentForward && plan.logs.length) {
      const { FluentForwardTransport } = await import('./export/fluent-forward.transport.js');
      await this.sink(
        'fluent-forward',
        new FluentForwardTransport(x.fluentForward.host, x.fluentForward.port, t),
      );
    }

    // Metrics: host inputs, each on its interval, observed by the readers of the exporters.
    const readers: MetricReader[] = [];
    if (x.prometheus) {
      this.prometheusExporter = new sdk.PrometheusExporter({
        preventServerStart: true,
        withoutScopeInfo: true,
      });
      readers.push(this.prometheusExporter);
    }
    const otlpMetrics = this.sinks.get('otlp-metrics');
    if (otlpMetrics)
      readers.push(
        new sdk.PeriodicExportingMetricReader({
          exporter: new sdk.OtlpMetricExporter(otlpMetrics),
          exportIntervalMillis: exportIntervalMs(plan),
          exportTimeoutMillis: Math.min(exportIntervalMs(plan), 30_000),
        }),
      );
    this.meterProvider = new sdk.MeterProvider({ resource, readers });
    const meter = this.meterProvider.getMeter('@outpost/agent-observability', deps.version);
    registerHostInstruments(meter, this.addInputs());
    this.registerSelfInstruments(meter);

    // Logs: one LoggerProvider, a batch processor per log exporter.
    const processors: LogRecordProcessor[] = [];
    const batch = { scheduledDelayMillis: deps.settings.logBatchDelayMs, maxExportBatchSize: 256 };
    const otlpLogs = this.sinks.get('otlp-logs');
    if (otlpLogs)
      processors.push(
        new sdk.BatchLogRecordProcessor({ exporter: new sdk.OtlpLogExporter(otlpLogs), ...batch }),
      );
    const fluent = this.sinks.get('fluent-forward');
    if (fluent)
      processors.push(
        new sdk.BatchLogRecordProcessor({
          exporter: new sdk.FluentLogExporter(fluent, { 'outpost.node.id': deps.nodeId, host: hostname() }),
          ...batch,
        }),
      );
    if (processors.length && plan.logs.length) {
      this.loggerProvider = new sdk.LoggerProvider({ resource, processors });
      this.otelLogger = this.loggerProvider.getLogger('@outpost/agent-observability', deps.version);
      const emit = (r: LogRecordOut) => this.emitLog(r);
      for (const l of plan.logs) {
        this.logSources.push(
          l.path
            ? new FileTailSource(l.path, l.level, l.intervalSeconds, emit)
            : new JournalSource(
                l.level,
                l.intervalSeconds,
                deps.settings.journalUnits,
                emit,
                deps.settings.journalCommand,
              ),
        );
      }
    }

    // Traces: spans of every agent in this process, through the global tracer switch.
    const otlpTraces = this.sinks.get('otlp-traces');
    if (otlpTraces)
      this.tracerProvider = new sdk.TracerProvider({
        resource: sdk.resourceFromAttributes({
          ...resource.attributes,
          'service.name': `outpost-${deps.agent === 'observability' ? 'observability-agent' : deps.agent}`,
        }),
        spanProcessors: [
          new sdk.BatchSpanProcessor({
            exporter: new sdk.OtlpSpanExporter(otlpTraces),
            scheduledDelayMillis: deps.settings.logBatchDelayMs,
          }),
        ],
      });
  }

  private async sink(name: SinkName, transport: OtlpHttpTransport | FluentForwardTransport): Promise<void> {
    const { stream, subject } = obsBufferNames(this.deps.nodeId, name);
    const { settings } = this.deps;
    const limits = { maxBytes: settings.bufferMaxBytes, maxAgeMs: settings.bufferMaxAgeSeconds * 1000 };
    const buffer = new OfflineBuffer(
      this.deps.nc,
      { stream, subject },
      this.deps.provisionBuffers
        ? {
            nodeId: this.deps.nodeId,
            limits: { bufferMaxBytes: limits.maxBytes, bufferMaxAgeMs: limits.maxAgeMs },
          }
        : undefined,
    );
    try {
      await buffer.open();
    } catch (err) {
      throw new Error(`offline buffer ${stream}: ${(err as Error).message}`);
    }
    const inForce = buffer.limits;
    if (inForce && (inForce.maxBytes !== limits.maxBytes || inForce.maxAgeMs !== limits.maxAgeMs))
      this.deps.logger.warn(
        `offline buffer ${stream} keeps ${inForce.maxBytes} bytes for ${inForce.maxAgeMs / 1000} s as ` +
          'provisioned at install time; bufferMaxBytes/bufferMaxAgeSeconds apply only where the agents ' +
          'provision JetStream (set them with nats-config.mjs --provision --buffer-max-bytes/--buffer-max-age)',
        LOG,
      );
    this.sinks.set(
      name,
      new BufferedSink(name, transport, buffer, this.deps.settings.retryIntervalMs, this.deps.onSinkChange),
    );
  }

  /** The host inputs of the plan, each sampling on its own interval. */
  private addInputs(): Parameters<typeof registerHostInstruments>[1] {
    const readersByInput = hostReaders(this.deps.roots);
    const inputs: Partial<Record<string, SampledInput<unknown>>> = {};
    for (const m of this.plan.metrics) {
      const read = readersByInput[m.input] as (prev: unknown) => Promise<unknown>;
      const input = new SampledInput<unknown>(m.input, m.intervalSeconds, read);
      inputs[m.input] = input;
      this.inputs.push(input);
    }
    return inputs as Parameters<typeof registerHostInstruments>[1];
  }

  private resource(sdk: typeof OtelSdk): Resource {
    return sdk.resourceFromAttributes({
      'service.name': 'outpost-observability-agent',
      'service.namespace': 'outpost',
      'service.version': this.deps.version,
      'service.instance.id': this.deps.instanceId,
      'host.name': hostname(),
      'outpost.node.id': this.deps.nodeId,
      'outpost.agent': 'observability',
    });
  }

  /** The agent's own figures: offline buffer depth, bytes and drops per sink. */
  private registerSelfInstruments(meter: Meter): void {
    if (this.sinks.size === 0) return;
    const each =
      (f: (r: SinkReport) => number) => (result: { observe(v: number, a: Record<string, string>): void }) => {
        for (const sink of this.sinks.values()) result.observe(f(sink.report), { 'outpost.sink': sink.name });
      };
    meter
      .createObservableGauge('outpost.observability.buffer.depth', {
        unit: '{batch}',
        description: 'Batches waiting in the offline buffer',
      })
      .addCallback(each((r) => r.buffer.depth));
    meter
      .createObservableGauge('outpost.observability.buffer.usage', {
        unit: 'By',
        description: 'Bytes in the offline buffer',
      })
      .addCallback(each((r) => r.buffer.bytes));
    meter
      .createObservableCounter('outpost.observability.buffer.dropped', {
        unit: '{batch}',
        description: 'Batches the offline buffer limits dropped before delivery',
      })
      .addCallback(each((r) => r.buffer.dropped));
    meter
      .createObservableCounter('outpost.observability.delivered', {
        unit: '{batch}',
        description: 'Batches delivered to the exporter',
      })
      .addCallback(each((r) => r.delivered));
  }

  private emitLog(r: LogRecordOut): void {
    this.otelLogger?.emit({
      severityNumber: r.severity as SeverityNumber,
      severityText: severityName(r.severity),
      body: r.body,
      timestamp: r.timeMs,
      attributes: r.attributes,
    });
  }

  async start(): Promise<void> {
    for (const sink of this.sinks.values()) sink.start();
    await Promise.all(this.inputs.map((i) => i.start()));
    await Promise.all(this.logSources.map((s) => s.start()));
  }

  /** Stops collecting, exports what is pending (delivered or buffered), closes the sinks. */
  async stop(): Promise<void> {
    await Promise.all(this.inputs.map((i) => i.stop()));
    await Promise.all(this.logSources.map((s) => s.stop()));
    const flush = async (what: string, work: (() => Promise<void>) | undefined) => {
      try {
        await work?.();
      } catch (err) {
        this.deps.logger.warn(`${what} shutdown: ${String(err)}`, LOG);
      }
    };
    const { meterProvider, loggerProvider, tracerProvider } = this;
    await flush('meter provider', meterProvider && (() => meterProvider.shutdown()));
    await flush('logger provider', loggerProvider && (() => loggerProvider.shutdown()));
    await flush('tracer provider', tracerProvider && (() => tracerProvider.shutdown()));
    await this.release();
  }

  /** Releases what prepare reserved (a pipeline that never ran). */
  private async release(): Promise<void> {
    await Promise.all([...this.sinks.values()].map((s) => s.close()));
    await this.deps.prometheus.discard(this.prometheusServer);
  }

  get inputReports(): InputReport[] {
    return [...this.inputs.map((i) => i.report), ...this.logSources.map((s) => s.report)];
  }

  /** For tests: one sample of every input now. */
  async sampleNow(): Promise<void> {
    await Promise.all(this.inputs.map((i) => i.sample()));
  }

  latest<K extends keyof HostSamples>(input: K): HostSamples[K] | undefined {
    return this.inputs.find((i) => i.input === input)?.latest as HostSamples[K] | undefined;
  }
}
