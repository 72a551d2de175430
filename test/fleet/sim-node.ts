/**
 * A lightweight simulated node for fleet tests: on its own leaf server (its own JetStream domain) it
 * provisions the node's JetStream (EDGE_EVENTS, edge_desired, edge_status) and speaks the real
 * contracts — a heartbeat with its labels (node evt.heartbeat), the orchestrator's state changes
 * (orchestrator evt.state) — and reacts to its desired update (KV edge_desired <id>.update) the way the
 * orchestrator does: with max_parallel set it takes a rollout lease in the hub's fleet_leases bucket
 * through the leaf link (the orchestrator's own RolloutLeases with a hub domain), "reboots" for a while
 * holding it, then commits, or rolls back when told to fail.
 */
import { create } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import type { NatsConnection } from '@nats-io/nats-core';
import { hubLeaseBucket, RolloutLeases } from '@outpost/agent-orchestrator';
import { provisionJetStream } from '@outpost/bus';
import {
  decodeJsonText,
  DesiredUpdateSchema,
  encode,
  HeartbeatSchema,
  HUB_DOMAIN,
  kvKeys,
  NodeApi,
  OrchestrationState,
  OrchestratorApi,
  OrchestratorStateChangeSchema,
} from '@outpost/contracts';

export interface SimOptions {
  labels: Record<string, string>;
  /** How long a "reboot" holds the lease. */
  rebootMs: number;
  heartbeatMs: number;
}

/** Who rebooted when: [nodeId, group, start, end]. */
export type RebootLog = [string, string, number, number][];

export class SimNode {
  /** Versions this node rolls back instead of committing. */
  readonly failing = new Set<string>();
  private timer?: NodeJS.Timeout;
  private state = OrchestrationState.IDLE;
  private busy = Promise.resolve();
  private closed = false;
  private seq = 0;
  private readonly leases: RolloutLeases;

  constructor(
    readonly id: string,
    readonly nc: NatsConnection,
    private readonly opts: SimOptions,
    private readonly reboots: RebootLog,
  ) {
    this.leases = new RolloutLeases(hubLeaseBucket(nc, HUB_DOMAIN, 2_000));
  }

  async start(): Promise<void> {
    const stores = await provisionJetStream(this.nc, { nodeId: this.id });
    this.beat();
    this.timer = setInterval(() => this.beat(), this.opts.heartbeatMs);
    const watch = await stores.desired.watch({ key: kvKeys.desiredUpdate(this.id) });
    void (async () => {
      for await (const e of watch) {
        if (e.operation !== 'PUT') continue;
        const desired = decodeJsonText(DesiredUpdateSchema, new TextDecoder().decode(e.value));
        this.busy = this.busy.then(() => this.install(desired).catch(() => undefined));
      }
    })();
  }

  stop(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  private beat(): void {
    if (this.closed || this.nc.isClosed()) return;
    this.nc.publish(
      NodeApi.evt.heartbeat.subject(this.id),
      encode(
        HeartbeatSchema,
        create(HeartbeatSchema, {
          nodeId: this.id,
          sequence: ++this.seq,
          time: timestampNow(),
          health: 1,
          labels: this.opts.labels,
        }),
      ),
    );
  }

  private emit(state: OrchestrationState, version: string, detail = ''): void {
    const from = this.state;
    this.state = state;
    this.nc.publish(
      OrchestratorApi.evt.state.subject(this.id),
      encode(
        OrchestratorStateChangeSchema,
        create(OrchestratorStateChangeSchema, {
          from,
          status: { state, version, detail, since: timestampNow() },
        }),
      ),
    );
  }

  private async install(d: ReturnType<typeof decodeJsonText<typeof DesiredUpdateSchema>>): Promise<void> {
    const version = d.manifest?.version ?? '';
    this.emit(OrchestrationState.WAITING_WINDOW, version);
    let slot: number | undefined;
    if (d.maxParallel > 0) {
      // The orchestrator's rule: no lease, no install (an unreachable hub is "no lease").
      while (!this.closed) {
        const got = await this.leases
          .acquire(d.rolloutGroup, d.maxParallel, this.id, version, 30_000, Date.now())
          .catch((err: unknown) => ({ ok: false as const, reason: String(err) }));
        if (got.ok) {
          slot = got.slot;
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const start = Date.now();
    this.emit(OrchestrationState.REBOOTING, version);
    await new Promise((r) => setTimeout(r, this.opts.rebootMs));
    this.emit(OrchestrationState.VERIFYING, version);
    this.reboots.push([this.id, d.rolloutGroup, start, Date.now()]);
    if (slot !== undefined) await this.leases.release(d.rolloutGroup, slot, this.id);
    if (this.failing.has(version)) this.emit(OrchestrationState.ROLLED_BACK, version, 'health trial failed');
    else this.emit(OrchestrationState.COMMITTED, version);
  }
}
