/**
 * An OTLP/HTTP receiver for tests and the bench (node:http): accepts POST /v1/{metrics,logs,traces}
 * with JSON bodies (the OTLP JSON Protobuf Encoding), keeps every request decoded in arrival order,
 * and can be stopped and started again on the same port to play an outage.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type OtlpSignal = 'metrics' | 'logs' | 'traces';

export interface OtlpRequest {
  signal: OtlpSignal;
  body: Record<string, unknown>;
  bytes: number;
}

export class OtlpReceiver {
  readonly requests: OtlpRequest[] = [];
  private server?: Server;
  port = 0;
  /** HTTP status to answer with (200 accepts). */
  status = 200;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  of(signal: OtlpSignal): Record<string, unknown>[] {
    return this.requests.filter((r) => r.signal === signal).map((r) => r.body);
  }

  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const m = /^\/v1\/(metrics|logs|traces)$/.exec(req.url ?? '');
        if (req.method !== 'POST' || !m || !/json/.test(req.headers['content-type'] ?? '')) {
          res.writeHead(404).end();
          return;
        }
        if (this.status !== 200) {
          res.writeHead(this.status).end();
          return;
        }
        const text = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ signal: m[1] as OtlpSignal, body: JSON.parse(text), bytes: text.length });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
