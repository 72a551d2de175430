/**
 * The OpenTelemetry SDK's exporters of this agent: each serializes what the SDK hands it (OTLP JSON
 * for the OTLP sinks, forward entries for Fluent) and submits it to a BufferedSink. The SDK's export
 * succeeds once the batch is delivered or safely in the offline buffer, so the SDK never retries
 * nor drops on its own; the sink owns delivery.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableLogRecord, LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { severityName } from '../domain/levels.js';
import type { BufferedSink } from './buffered-sink.js';
import type { FluentEntry } from './fluent-forward.transport.js';

const utf8 = new TextEncoder();
/** Nothing is held here: the sink owns what is pending. */
const done = (): Promise<void> => Promise.resolve();

function submit(
  sink: BufferedSink,
  batch: Uint8Array | undefined,
  done: (result: ExportResult) => void,
): void {
  if (!batch) {
    done({ code: ExportResultCode.FAILED, error: new Error('nothing to serialize') });
    return;
  }
  sink.submit(batch).then(
    () => done({ code: ExportResultCode.SUCCESS }),
    (error: unknown) => done({ code: ExportResultCode.FAILED, error: error as Error }),
  );
}

export class OtlpMetricExporter implements PushMetricExporter {
  constructor(private readonly sink: BufferedSink) {}
  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    submit(this.sink, JsonMetricsSerializer.serializeRequest(metrics), done);
  }
  forceFlush = done;
  shutdown = done;
}

export class OtlpLogExporter implements LogRecordExporter {
  constructor(private readonly sink: BufferedSink) {}
  export(logs: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    submit(this.sink, JsonLogsSerializer.serializeRequest(logs), done);
  }
  forceFlush = done;
  shutdown = done;
}

export class OtlpSpanExporter implements SpanExporter {
  constructor(private readonly sink: BufferedSink) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    submit(this.sink, JsonTraceSerializer.serializeRequest(spans), done);
  }
  forceFlush = done;
  shutdown = done;
}

/** Log records as Fluent forward entries: tag outpost.<source>, the record's attributes and message. */
export class FluentLogExporter implements LogRecordExporter {
  constructor(
    private readonly sink: BufferedSink,
    private readonly base: Record<string, string>,
  ) {}
  export(logs: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    const entries: FluentEntry[] = logs.map((log) => {
      const source = String(log.attributes['outpost.log.source'] ?? 'log');
      return {
        tag: `outpost.${source.replace(/[^A-Za-z0-9_.-]+/g, '_')}`,
        timeMs: log.hrTime[0] * 1000 + Math.floor(log.hrTime[1] / 1e6),
        record: {
          ...this.base,
          ...log.attributes,
          level: log.severityText ?? severityName(log.severityNumber ?? 9),
          message: typeof log.body === 'string' ? log.body : JSON.stringify(log.body),
        },
      };
    });
    submit(this.sink, utf8.encode(JSON.stringify(entries)), done);
  }
  forceFlush = done;
  shutdown = done;
}
