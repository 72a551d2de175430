/**
 * Reads the hub's FLEET_EVENTS (every node's events, sourced through its domain) with an ordered
 * consumer: at start the last event of every subject (each node's last heartbeat and orchestrator
 * state), then every new one. Each is decoded by its contract and handed to the service; an event that
 * does not decode is logged and skipped. A missing stream (not provisioned yet) is retried.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DeliverPolicy, jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import {
  decode,
  FLEET_EVENT_STREAM,
  HeartbeatSchema,
  NodeApi,
  OrchestratorApi,
  OrchestratorStateChangeSchema,
} from '@outpost/contracts';
import { BusClient } from '@outpost/bus';
import { AGENT_LOGGER } from '@outpost/agent-runtime';
import { FleetService, type NodeEvent } from '../fleet.service.js';

const LOG = 'FleetEvents';
const RETRY_MS = 2_000;

@Injectable()
export class FleetEventsConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private messages?: ConsumerMessages;
  private closed = false;

  constructor(
    private readonly client: BusClient,
    private readonly service: FleetService,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {}

  onApplicationBootstrap(): void {
    void this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.messages?.close();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        const js = jetstream(this.client.connection);
        const consumer = await js.consumers.get(FLEET_EVENT_STREAM, {
          filter_subjects: 'edge.>',
          deliver_policy: DeliverPolicy.LastPerSubject,
        });
        this.messages = await consumer.consume();
        this.logger.log(`reading ${FLEET_EVENT_STREAM}`, LOG);
        for await (const m of this.messages) this.take(m);
      } catch (err) {
        if (!this.closed)
          this.logger.warn(`${FLEET_EVENT_STREAM} not readable (retried): ${String(err)}`, LOG);
      }
      if (!this.closed) await new Promise((r) => setTimeout(r, RETRY_MS).unref());
    }
  }

  private take(m: JsMsg): void {
    const event = toNodeEvent(m.subject, m.data, Math.floor(m.info.timestampNanos / 1_000_000));
    if (typeof event === 'string') this.logger.warn(`${m.subject} skipped: ${event}`, LOG);
    else if (event) this.service.observe(event, m.seq);
  }
}

/** edge.<node>.<agent>.evt.<name> → the inventory's view of it; a string: why it was refused. */
export function toNodeEvent(subject: string, data: Uint8Array, at: number): NodeEvent | string | undefined {
  const [, nodeId, agent, kind, name] = subject.split('.');
  if (kind !== 'evt' || !nodeId) return undefined;
  try {
    if (agent === NodeApi.agent && name === NodeApi.evt.heartbeat.name) {
      const beat = decode(HeartbeatSchema, data);
      return { kind: 'heartbeat', nodeId, labels: { ...beat.labels }, health: beat.health, at };
    }
    if (agent === OrchestratorApi.agent && name === OrchestratorApi.evt.state.name) {
      const s = decode(OrchestratorStateChangeSchema, data).status;
      return {
        kind: 'orchestrator',
        nodeId,
        state: s?.state ?? 0,
        version: s?.version ?? '',
        detail: s?.detail ?? '',
        at,
      };
    }
  } catch (err) {
    return String((err as Error).message);
  }
  return { kind: 'seen', nodeId, at };
}
