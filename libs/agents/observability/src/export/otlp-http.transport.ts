/**
 * OTLP/HTTP with JSON encoding (the OTLP specification's "JSON Protobuf Encoding"): one POST of a
 * serialized ExportXServiceRequest to <endpoint>/v1/<signal>. A 2xx accepts the batch; 400/413 and
 * other 4xx (except 408 and 429, which mean "later") reject it for good; anything else, including a
 * refused connection or a timeout, means unreachable, and the batch is buffered.
 *
 * node:http, not fetch(): fetch brings undici and its WebAssembly parser into the process, ~13 MiB
 * more resident memory for the same POST (docs/performance.md); node:https is loaded for https only.
 */
import {
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { RejectedBatch, type Transport } from './buffered-sink.js';

type Request = (url: URL, options: RequestOptions, answer: (res: IncomingMessage) => void) => ClientRequest;

export class OtlpHttpTransport implements Transport {
  private readonly inflight = new Set<AbortController>();
  private readonly url: URL;

  constructor(
    readonly target: string,
    private readonly timeoutMs: number,
  ) {
    this.url = new URL(target);
  }

  async send(batch: Uint8Array): Promise<void> {
    const abort = new AbortController();
    this.inflight.add(abort);
    const timer = setTimeout(
      () => abort.abort(new Error(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    try {
      const { status, text } = await this.post(batch, abort.signal);
      if (status >= 200 && status < 300) return;
      const detail = `${this.target} answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw new RejectedBatch(detail);
      throw new Error(detail);
    } catch (err) {
      if (err instanceof RejectedBatch) throw err;
      const reason = abort.signal.aborted ? (abort.signal.reason as Error) : (err as NodeJS.ErrnoException);
      throw new Error(`${this.target}: ${(reason as NodeJS.ErrnoException).code ?? reason.message}`);
    } finally {
      clearTimeout(timer);
      this.inflight.delete(abort);
    }
  }

  async close(): Promise<void> {
    for (const a of this.inflight) a.abort(new Error('exporter closed'));
  }

  private async post(body: Uint8Array, signal: AbortSignal): Promise<{ status: number; text: string }> {
    const request: Request =
      this.url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        this.url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.byteLength },
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.once('error', reject);
        },
      );
      req.once('error', reject);
      req.end(body);
    });
  }
}
