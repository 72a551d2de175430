/**
 * What the data plane must run for one effective telemetry configuration: the host metric inputs with
 * their intervals, the log inputs with their thresholds, and the exporters. Pure: the service builds
 * the pipeline from a plan, and two equal plans need no rebuild.
 */
import {
  TelemetryKind,
  TelemetrySignal,
  type TelemetryConfig,
  type TelemetryLevel,
} from '@outpost/contracts';

export const METRIC_INPUTS = [
  'cpu',
  'memory',
  'disk',
  'diskio',
  'net',
  'load',
  'temperature',
  'agents',
] as const;
export type MetricInput = (typeof METRIC_INPUTS)[number];

export interface MetricPlan {
  input: MetricInput;
  intervalSeconds: number;
}

export interface LogPlan {
  /** journal, or file:<absolute path>. */
  input: string;
  /** The file to tail (file inputs). */
  path?: string;
  level: TelemetryLevel;
  intervalSeconds: number;
}

export interface ExportersPlan {
  otlpHttp?: { endpoint: string };
  prometheus?: { port: number };
  fluentForward?: { host: string; port: number };
}

export interface Plan {
  generation: number;
  metrics: MetricPlan[];
  logs: LogPlan[];
  exporters: ExportersPlan;
  /** Inputs this agent does not collect, with the reason (shown in cmd.status). */
  skipped: { input: string; reason: string }[];
}

const FILE_PREFIX = 'file:';

export function planOf(config: TelemetryConfig): Plan {
  const plan: Plan = {
    generation: Number(config.generation),
    metrics: [],
    logs: [],
    exporters: {},
    skipped: [],
  };
  for (const e of config.profile?.entries ?? []) {
    if (e.kind === TelemetryKind.CLUSTER) {
      plan.skipped.push({
        input: e.input,
        reason: 'CLUSTER inputs are read by the cluster, not on the host',
      });
      continue;
    }
    if (e.type === TelemetrySignal.METRICS && (METRIC_INPUTS as readonly string[]).includes(e.input)) {
      plan.metrics.push({ input: e.input as MetricInput, intervalSeconds: e.intervalSeconds });
    } else if (
      e.type === TelemetrySignal.LOGS &&
      (e.input === 'journal' || e.input.startsWith(FILE_PREFIX))
    ) {
      plan.logs.push({
        input: e.input,
        path: e.input.startsWith(FILE_PREFIX) ? e.input.slice(FILE_PREFIX.length) : undefined,
        level: e.level,
        intervalSeconds: e.intervalSeconds,
      });
    } else {
      plan.skipped.push({ input: e.input, reason: 'not an input of the observability agent' });
    }
  }
  const x = config.profile?.exporters;
  if (x?.otlpHttp) plan.exporters.otlpHttp = { endpoint: x.otlpHttp.endpoint };
  if (x?.prometheus) plan.exporters.prometheus = { port: x.prometheus.port };
  if (x?.fluentForward)
    plan.exporters.fluentForward = { host: x.fluentForward.host, port: x.fluentForward.port };
  return plan;
}

/** How often pushed metrics are exported: the shortest interval of the metric inputs. */
export function exportIntervalMs(plan: Plan, fallbackSeconds = 60): number {
  const intervals = plan.metrics.map((m) => m.intervalSeconds);
  return (intervals.length ? Math.min(...intervals) : fallbackSeconds) * 1000;
}

/** The OTLP/HTTP URL of one signal under an endpoint (the collector's /v1/<signal> paths). */
export function otlpUrl(endpoint: string, signal: 'metrics' | 'logs' | 'traces'): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/${signal}`;
}
