/**
 * The Prometheus scrape endpoint (GET /metrics). The HTTP server is ours, not the exporter's: it is
 * bound before a new configuration is switched to (a port in use fails the apply while the old
 * configuration keeps running), it stays up across configuration changes that keep the port, and
 * each scrape is answered by the PrometheusExporter (a MetricReader) of the pipeline in force.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';

export class PrometheusEndpoint {
  private server?: Server;
  private exporter?: PrometheusExporter;
  scrapes = 0;

  constructor(private readonly host: string) {}

  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  get target(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port ?? 0}/metrics`;
  }

  /** A server on `port` (0: any free port, for tests), or the running one if it has that port. */
  async prepare(port: number): Promise<Server> {
    if (this.server && port !== 0 && this.port === port) return this.server;
    const server = createServer((req, res) => this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: this.host, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  /** Switches to a prepared server (closing the previous one if it is another) and exporter. */
  async use(server: Server | undefined, exporter: PrometheusExporter | undefined): Promise<void> {
    const previous = this.server;
    this.server = server;
    this.exporter = exporter;
    if (previous && previous !== server) await close(previous);
  }

  /** Closes a prepared server that will not be used (the apply failed later). */
  async discard(server: Server | undefined): Promise<void> {
    if (server && server !== this.server) await close(server);
  }

  async stop(): Promise<void> {
    await this.use(undefined, undefined);
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics' || !this.exporter) {
      res.statusCode = 404;
      res.end('not found: GET /metrics\n');
      return;
    }
    this.scrapes++;
    this.exporter.getMetricsRequestHandler(req, res);
  }
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
