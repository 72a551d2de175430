/**
 * The OpenTelemetry SDK as the pipeline uses it, in one module that the pipeline imports on the first
 * configuration that sets an exporter: a node that exports nothing never loads the SDK, its exporters or
 * the OTLP serializers (docs/performance.md).
 */
export { resourceFromAttributes } from '@opentelemetry/resources';
export { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
export { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
export { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
export { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
export { FluentLogExporter, OtlpLogExporter, OtlpMetricExporter, OtlpSpanExporter } from './sdk-exporters.js';
