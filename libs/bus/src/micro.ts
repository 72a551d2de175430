/**
 * The NATS micro protocol (v1) for an agent: answers $SRV.PING|INFO|STATS at all three subject levels
 * ($SRV.PING, $SRV.PING.<name>, $SRV.PING.<name>.<id>) with the agent's real endpoints and the request
 * counts, error counts and processing times the transport records. This is what `nats micro ls` and
 * `nats micro stats <service>` read; the shapes follow the io.nats.micro.v1 JSON schemas.
 */
import { nuid, type NatsConnection, type Subscription } from '@nats-io/nats-core';

export interface EndpointInfo {
  name: string;
  subject: string;
  queue_group: string;
  metadata: Record<string, string>;
}

/** Counters of one endpoint, updated by the transport as it serves. */
export class EndpointStats {
  numRequests = 0;
  numErrors = 0;
  lastError = '';
  /** Nanoseconds, as a bigint so long-running agents do not lose precision. */
  private processingNs = 0n;

  constructor(readonly info: EndpointInfo) {}

  record(elapsedNs: bigint, error?: string): void {
    this.numRequests += 1;
    this.processingNs += elapsedNs;
    if (error !== undefined) {
      this.numErrors += 1;
      this.lastError = error;
    }
  }

  toJSON(): Record<string, unknown> {
    const avg = this.numRequests === 0 ? 0n : this.processingNs / BigInt(this.numRequests);
    return {
      name: this.info.name,
      subject: this.info.subject,
      queue_group: this.info.queue_group,
      num_requests: this.numRequests,
      num_errors: this.numErrors,
      last_error: this.lastError,
      processing_time: Number(this.processingNs),
      average_processing_time: Number(avg),
    };
  }
}

export interface MicroServiceOptions {
  /** Service name, [A-Za-z0-9_-]+ (e.g. outpost-node). */
  name: string;
  /** SemVer of the agent. */
  version: string;
  description: string;
  metadata: Record<string, string>;
}

const NAME = /^[A-Za-z0-9_-]+$/;
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export class MicroService {
  readonly id = nuid.next();
  readonly endpoints: EndpointStats[] = [];
  private readonly started = new Date();
  private subs: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: MicroServiceOptions,
  ) {
    if (!NAME.test(options.name)) throw new Error(`micro service name "${options.name}" must match ${NAME}`);
    if (!SEMVER.test(options.version))
      throw new Error(`micro service version "${options.version}" is not SemVer`);
  }

  addEndpoint(info: EndpointInfo): EndpointStats {
    if (!NAME.test(info.name)) throw new Error(`endpoint name "${info.name}" must match ${NAME}`);
    const stats = new EndpointStats(info);
    this.endpoints.push(stats);
    return stats;
  }

  /** Starts answering discovery requests. */
  start(): void {
    const verbs: Record<string, () => Record<string, unknown>> = {
      PING: () => this.identity('io.nats.micro.v1.ping_response'),
      INFO: () => ({
        ...this.identity('io.nats.micro.v1.info_response'),
        description: this.options.description,
        endpoints: this.endpoints.map((e) => e.info),
      }),
      STATS: () => ({
        ...this.identity('io.nats.micro.v1.stats_response'),
        started: this.started.toISOString(),
        endpoints: this.endpoints.map((e) => e.toJSON()),
      }),
    };
    for (const [verb, body] of Object.entries(verbs)) {
      for (const subject of [
        `$SRV.${verb}`,
        `$SRV.${verb}.${this.options.name}`,
        `$SRV.${verb}.${this.options.name}.${this.id}`,
      ]) {
        this.subs.push(
          this.nc.subscribe(subject, {
            callback: (err, msg) => {
              if (!err) msg.respond(JSON.stringify(body()));
            },
          }),
        );
      }
    }
  }

  async stop(): Promise<void> {
    const subs = this.subs;
    this.subs = [];
    await Promise.all(subs.map((s) => (s.isClosed() ? undefined : s.drain().catch(() => undefined))));
  }

  private identity(type: string): Record<string, unknown> {
    return {
      type,
      name: this.options.name,
      id: this.id,
      version: this.options.version,
      metadata: this.options.metadata,
    };
  }
}
