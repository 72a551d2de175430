import { describe, expect, it } from '@jest/globals';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { tracerSwitch } from './tracing.js';

describe('tracer switch (the global tracer provider)', () => {
  it('gives non-recording spans that keep the parent context until a provider is switched in', async () => {
    const sw = tracerSwitch();
    const tracer = trace.getTracer('test');
    const parent = trace.setSpanContext(context.active(), {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
    });
    const idle = tracer.startSpan('idle', {}, parent);
    expect(idle.isRecording()).toBe(false);
    expect(idle.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    idle.end();

    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    sw.current = provider;
    const live = tracer.startSpan('live', {}, parent);
    expect(live.isRecording()).toBe(true);
    live.end();
    sw.current = undefined;
    expect(tracer.startSpan('after').isRecording()).toBe(false);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['live']);
    expect(exporter.getFinishedSpans()[0].parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    await provider.shutdown();
  });
});
