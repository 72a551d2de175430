/**
 * The fleet service's engine on the hub: keeps the inventory (folded from FLEET_EVENTS by the events
 * consumer), answers inventory queries, and drives rollouts — every tick (and after every event) it asks
 * the pure controller (domain/rollout.ts) what to do and only carries out the effects: write a node's
 * desired update into that node's own JetStream domain, persist the rollout in the hub KV, publish the
 * change. One queue serialises every mutation, so a stale save never lands after a newer one.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import { Kvm } from '@nats-io/kv';
import { jetstream } from '@nats-io/jetstream';
import {
  ContractError,
  decodeJsonText,
  DesiredUpdateSchema,
  encodeJsonText,
  ErrorCode,
  FleetApi,
  FleetNodesReplySchema,
  FleetStatusSchema,
  KV_DESIRED,
  kvKeys,
  RolloutListReplySchema,
  type DesiredUpdate,
  type FleetLabelsRequest,
  type FleetNode,
  type FleetNodesReply,
  type FleetNodesRequest,
  type FleetStatus,
  type Rollout,
  type RolloutCreateRequest,
  type RolloutListReply,
  type RolloutRequest,
} from '@outpost/contracts';
import { BusClient } from '@outpost/bus';
import {
  AGENT_LOGGER,
  AGENT_SETTINGS,
  StatusReporter,
  type SettingsOf,
  SerialQueue,
} from '@outpost/agent-runtime';
import type { fleetSettings } from './config/fleet.settings.js';
import {
  applyHeartbeat,
  desiredVersions,
  applyOrchestrator,
  applySeen,
  effectiveLabels,
  emptyRecord,
  isOnline,
  outcomeFor,
  queryInventory,
  type InventoryRecord,
} from './domain/inventory.js';
import {
  decide,
  IllegalTransition,
  leaseGroup,
  operate,
  planRollout,
  recordWrites,
  type Action,
  type Observation,
  type RolloutRecord,
} from './domain/rollout.js';
import { isLabelKey, parseSelector } from './domain/selector.js';
import { nodeMessage, rolloutMessage, strategyFromMessage, TARGET_PAGE } from './fleet.messages.js';
import { FleetStateStore } from './state/fleet-state.store.js';

type Settings = SettingsOf<typeof fleetSettings>;
const LOG = 'Fleet';
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const VERSION = /^[A-Za-z0-9._+-]{1,64}$/;

/** What the events consumer hands over: one decoded event of a node. */
export type NodeEvent =
  | { kind: 'heartbeat'; nodeId: string; labels: Record<string, string>; health: number; at: number }
  | { kind: 'orchestrator'; nodeId: string; state: number; version: string; detail: string; at: number }
  | { kind: 'seen'; nodeId: string; at: number };

@Injectable()
export class FleetService implements OnApplicationBootstrap, OnModuleDestroy {
  private store?: FleetStateStore;
  private readonly nodes = new Map<string, InventoryRecord>();
  private readonly overrides = new Map<string, Record<string, string>>();
  private readonly rollouts = new Map<string, RolloutRecord>();
  /** The desired update of each rollout, as declared (written to each chosen node). */
  private readonly updates = new Map<string, DesiredUpdate>();
  private readonly queue = new SerialQueue();
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private eventsSeq = 0;

  constructor(
    @Inject(AGENT_SETTINGS) private readonly settings: Settings,
    private readonly client: BusClient,
    private readonly status: StatusReporter,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.store = await FleetStateStore.open(this.client.connection, this.settings.replicas);
    const loaded = await this.store.load();
    for (const [id, labels] of loaded.labels) this.overrides.set(id, labels);
    for (const r of loaded.rollouts) this.rollouts.set(r.id, r);
    for (const r of loaded.rollouts) if (r.desired) this.updates.set(r.id, parseDesired(r.desired));
    this.logger.log(`loaded ${this.rollouts.size} rollouts, ${this.overrides.size} label overrides`, LOG);
    this.timer = setInterval(() => this.tick(), this.settings.tickMs);
    this.timer.unref();
    this.status.ready();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  // ---- inventory --------------------------------------------------------------------------------

  /** One event from FLEET_EVENTS (stream sequence `seq`). */
  observe(event: NodeEvent, seq: number): void {
    this.eventsSeq = Math.max(this.eventsSeq, seq);
    const r = this.nodes.get(event.nodeId) ?? emptyRecord(event.nodeId, this.overrides.get(event.nodeId));
    const next =
      event.kind === 'heartbeat'
        ? applyHeartbeat(r, event, event.at)
        : event.kind === 'orchestrator'
          ? applyOrchestrator(r, event, event.at)
          : applySeen(r, event.at);
    this.nodes.set(event.nodeId, next);
    if (event.kind === 'orchestrator') this.tick();
  }

  nodesPage(req: FleetNodesRequest): FleetNodesReply {
    const parsed = parseSelector(req.selector);
    if (!parsed.ok) throw new ContractError(ErrorCode.INVALID_ARGUMENT, parsed.problem);
    const limit = req.limit === 0 ? 100 : req.limit;
    if (limit > 1000) throw new ContractError(ErrorCode.INVALID_ARGUMENT, `limit ${limit} is not 1..1000`);
    const page = queryInventory(this.nodes.values(), parsed.selector, limit, req.pageToken);
    const now = Date.now();
    const desired = desiredVersions(this.rollouts.values());
    return create(FleetNodesReplySchema, {
      nodes: page.records.map((r) =>
        nodeMessage({ ...r, desiredVersion: desired.get(r.nodeId) ?? '' }, now, this.settings.nodeStaleMs),
      ),
      nextPageToken: page.nextPageToken,
      total: page.total,
    });
  }

  node(nodeId: string): FleetNode {
    const r = this.nodes.get(nodeId);
    if (!r) throw new ContractError(ErrorCode.NOT_FOUND, `node ${nodeId} is not in the inventory`);
    const desiredVersion = desiredVersions(this.rollouts.values()).get(nodeId) ?? '';
    return nodeMessage({ ...r, desiredVersion }, Date.now(), this.settings.nodeStaleMs);
  }

  setLabels(req: FleetLabelsRequest): Promise<FleetNode> {
    const bad = [...Object.keys(req.set), ...req.remove].find((k) => !isLabelKey(k));
    if (bad !== undefined) throw new ContractError(ErrorCode.INVALID_ARGUMENT, `"${bad}" is not a label key`);
    if (!ID.test(req.nodeId))
      throw new ContractError(ErrorCode.INVALID_ARGUMENT, `"${req.nodeId}" is not a node id`);
    return this.queue.run(async () => {
      const overrides = { ...(this.overrides.get(req.nodeId) ?? {}), ...req.set };
      for (const k of req.remove) delete overrides[k];
      await this.requireStore().saveLabels(req.nodeId, overrides);
      this.overrides.set(req.nodeId, overrides);
      const r = this.nodes.get(req.nodeId) ?? emptyRecord(req.nodeId);
      this.nodes.set(req.nodeId, { ...r, overrides });
      return this.node(req.nodeId);
    });
  }

  statusMessage(): FleetStatus {
    const now = Date.now();
    const all = [...this.rollouts.values()];
    return create(FleetStatusSchema, {
      nodes: this.nodes.size,
      online: [...this.nodes.values()].filter((r) => isOnline(r, now, this.settings.nodeStaleMs)).length,
      rolloutsRunning: all.filter((r) => r.state === 'RUNNING').length,
      rolloutsPaused: all.filter((r) => r.state === 'PAUSED').length,
      eventsSeq: BigInt(this.eventsSeq),
    });
  }

  // ---- rollouts ---------------------------------------------------------------------------------

  createRollout(req: RolloutCreateRequest): Promise<Rollout> {
    if (!ID.test(req.id))
      throw new ContractError(
        ErrorCode.INVALID_ARGUMENT,
        `rollout id "${req.id}" is not 1-64 of A-Za-z0-9_-`,
      );
    const manifest = req.update?.manifest;
    if (!req.update || !manifest)
      throw new ContractError(ErrorCode.INVALID_ARGUMENT, 'update.manifest is required');
    if (!VERSION.test(manifest.version))
      throw new ContractError(
        ErrorCode.INVALID_ARGUMENT,
        `update.manifest.version "${manifest.version}" is not a version`,
      );
    if (!manifest.signature || !/^[0-9a-f]{64}$/.test(manifest.sha256) || !manifest.imageUrl)
      throw new ContractError(
        ErrorCode.INVALID_ARGUMENT,
        'update.manifest needs imageUrl, a sha256 of 64 hex digits and a signature (a signed update)',
      );
    const update = req.update;
    return this.queue.run(async () => {
      if (this.rollouts.has(req.id))
        throw new ContractError(ErrorCode.FAILED_PRECONDITION, `rollout ${req.id} exists already`);
      const inventory = [...this.nodes.values()].map((r) => ({
        nodeId: r.nodeId,
        labels: effectiveLabels(r),
      }));
      const planned = planRollout(
        req.id,
        manifest.version,
        req.selector,
        strategyFromMessage(req.strategy),
        inventory,
        Date.now(),
      );
      if (!planned.ok)
        throw new ContractError(
          planned.notFound ? ErrorCode.NOT_FOUND : ErrorCode.INVALID_ARGUMENT,
          planned.problem,
        );
      const record: RolloutRecord = {
        ...planned.rollout,
        desired: encodeJsonText(DesiredUpdateSchema, update),
      };
      if (!(await this.requireStore().createRollout(record)))
        throw new ContractError(ErrorCode.FAILED_PRECONDITION, `rollout ${req.id} exists already`);
      this.rollouts.set(record.id, record);
      this.updates.set(record.id, update);
      this.logger.log(
        `rollout ${record.id}: ${manifest.version} to ${record.targets.length} nodes in ${record.batchCount} batches`,
        LOG,
      );
      await this.step(record.id);
      return rolloutMessage(this.requireRollout(record.id));
    });
  }

  rollout(req: RolloutRequest): Rollout {
    const limit = req.targetLimit === 0 ? TARGET_PAGE : req.targetLimit;
    if (limit > TARGET_PAGE)
      throw new ContractError(ErrorCode.INVALID_ARGUMENT, `targetLimit ${limit} is not 1..${TARGET_PAGE}`);
    return rolloutMessage(this.requireRollout(req.id), req.targetOffset, limit);
  }

  list(): RolloutListReply {
    const all = [...this.rollouts.values()].sort((a, b) => b.createdAt - a.createdAt);
    return create(RolloutListReplySchema, { rollouts: all.map((r) => rolloutMessage(r, 0, 0)) });
  }

  operate(id: string, action: Action): Promise<Rollout> {
    return this.queue.run(async () => {
      const r = this.requireRollout(id);
      let next: RolloutRecord;
      try {
        next = operate(r, action, Date.now());
      } catch (err) {
        if (err instanceof IllegalTransition)
          throw new ContractError(ErrorCode.FAILED_PRECONDITION, err.message);
        throw err;
      }
      this.logger.log(`rollout ${id}: ${action} (${r.state} → ${next.state})`, LOG);
      await this.save(next);
      await this.step(id);
      return rolloutMessage(this.requireRollout(id));
    });
  }

  /** Decides every unfinished rollout once; never two ticks at a time. */
  tick(): void {
    if (this.ticking) return;
    this.ticking = true;
    void this.queue
      .run(async () => {
        for (const r of this.rollouts.values())
          if (r.state === 'RUNNING' || r.state === 'PAUSED') await this.step(r.id);
      })
      .catch((err: unknown) => this.logger.warn(`rollout tick failed: ${String(err)}`, LOG))
      .finally(() => (this.ticking = false));
  }

  /** One decision for one rollout, its effects carried out, the result saved when it changed. */
  private async step(id: string): Promise<void> {
    const r = this.requireRollout(id);
    const observations = new Map<string, Observation>();
    for (const t of r.targets) {
      const o = outcomeFor(this.nodes.get(t.nodeId), r.version);
      if (o) observations.set(t.nodeId, o);
    }
    const decision = decide(r, observations, Date.now());
    let next = decision.next;
    if (decision.changed && next.state !== r.state)
      this.logger.log(`rollout ${id}: ${r.state} → ${next.state} ${next.reason}`, LOG);
    const writes = await Promise.all(
      decision.effects.map(async (e) =>
        (await this.writeDesired(next, e.nodeId, e.group)) ? e.nodeId : undefined,
      ),
    );
    next = recordWrites(next, new Set(writes.filter((w): w is string => w !== undefined)), Date.now());
    if (next !== r) await this.save(next);
  }

  private async writeDesired(r: RolloutRecord, nodeId: string, group: string): Promise<boolean> {
    const update = this.updates.get(r.id);
    if (!update) return false;
    const desired = create(DesiredUpdateSchema, {
      ...update,
      rolloutGroup: r.strategy.maxUnavailable > 0 ? leaseGroup(r, group) : '',
      maxParallel: r.strategy.maxUnavailable,
    });
    try {
      const js = jetstream(this.client.connection, { domain: nodeId, timeout: this.settings.writeTimeoutMs });
      const kv = await new Kvm(js).open(KV_DESIRED);
      await kv.put(kvKeys.desiredUpdate(nodeId), encodeJsonText(DesiredUpdateSchema, desired));
      this.logger.log(`rollout ${r.id}: desired ${r.version} written to ${nodeId}`, LOG);
      return true;
    } catch (err) {
      // Offline or unreachable: the write is tried again at the next tick, until the node's deadline.
      this.logger.warn(
        `rollout ${r.id}: desired update not written to ${nodeId} (retried): ${String(err)}`,
        LOG,
      );
      return false;
    }
  }

  private async save(r: RolloutRecord): Promise<void> {
    await this.requireStore().saveRollout(r);
    this.rollouts.set(r.id, r);
    const withTargets = r.targets.length <= TARGET_PAGE ? TARGET_PAGE : 0;
    this.client.publish(FleetApi.evt.rollout, { rollout: rolloutMessage(r, 0, withTargets) });
  }

  private requireRollout(id: string): RolloutRecord {
    const r = this.rollouts.get(id);
    if (!r) throw new ContractError(ErrorCode.NOT_FOUND, `no rollout ${id}`);
    return r;
  }

  private requireStore(): FleetStateStore {
    if (!this.store) throw new ContractError(ErrorCode.UNAVAILABLE, 'the fleet service is starting');
    return this.store;
  }
}

function parseDesired(text: string): DesiredUpdate {
  return decodeJsonText(DesiredUpdateSchema, text);
}
