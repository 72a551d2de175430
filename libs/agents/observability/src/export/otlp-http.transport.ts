/**
 * OTLP/HTTP with JSON encoding (the OTLP specification's "JSON Protobuf Encoding"): one POST of a
 * serialized ExportXServiceRequest to <endpoint>/v1/<signal>. A 2xx accepts the batch; 400/413 and
 * other 4xx (except 408 and 429, which mean "later") reject it for good; anything else, including a
 * refused connection or a timeout, means unreachable, and the batch is buffered.
 */
import { RejectedBatch, type Transport } from './buffered-sink.js';

export class OtlpHttpTransport implements Transport {
  private readonly inflight = new Set<AbortController>();

  constructor(
    readonly target: string,
    private readonly timeoutMs: number,
  ) {}

  async send(batch: Uint8Array): Promise<void> {
    const abort = new AbortController();
    this.inflight.add(abort);
    const timer = setTimeout(
      () => abort.abort(new Error(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    try {
      const res = await fetch(this.target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: batch,
        signal: abort.signal,
      });
      const text = await res.text().catch(() => '');
      if (res.ok) return;
      const detail = `${this.target} answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
        throw new RejectedBatch(detail);
      throw new Error(detail);
    } catch (err) {
      if (err instanceof RejectedBatch) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`${this.target}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.inflight.delete(abort);
    }
  }

  async close(): Promise<void> {
    for (const a of this.inflight) a.abort(new Error('exporter closed'));
  }
}
