/**
 * The process-wide tracer provider. The OpenTelemetry API takes a global provider once per process,
 * but the configuration changes live: so the global one is this switch, whose tracers forward to the
 * SDK provider of the pipeline in force, or to no tracer at all (spans are then non-recording and
 * only the trace context travels). The bus transport and BusClient create their spans through the
 * global API, so every agent of the process (all of them in edge-node) is traced once an OTLP
 * exporter is configured.
 */
import {
  ProxyTracerProvider,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';

// A provider of its own that is never given a delegate: its tracers are the API's no-op tracer. (The
// global provider's tracers would forward to this switch again, endlessly.)
const NOOP = new ProxyTracerProvider().getTracer('noop');
const SWITCH = Symbol.for('outpost.observability.tracer-switch');

class SwitchedTracer implements Tracer {
  constructor(
    private readonly owner: TracerSwitch,
    private readonly name: string,
    private readonly version?: string,
  ) {}

  private get target(): Tracer {
    return this.owner.current?.getTracer(this.name, this.version) ?? NOOP;
  }

  startSpan(name: string, options?: SpanOptions, context?: Context): Span {
    return this.target.startSpan(name, options, context);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...args: unknown[]): ReturnType<F> {
    return (this.target.startActiveSpan as (n: string, ...a: unknown[]) => ReturnType<F>)(name, ...args);
  }
}

export class TracerSwitch implements TracerProvider {
  current?: TracerProvider;

  getTracer(name: string, version?: string): Tracer {
    return new SwitchedTracer(this, name, version);
  }
}

/** The switch of this process, registered as the global tracer provider on first use. */
export function tracerSwitch(): TracerSwitch {
  const holder = globalThis as unknown as Record<symbol, TracerSwitch | undefined>;
  let sw = holder[SWITCH];
  if (!sw) {
    sw = new TracerSwitch();
    holder[SWITCH] = sw;
    trace.setGlobalTracerProvider(sw);
  }
  return sw;
}
