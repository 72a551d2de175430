/**
 * The update orchestrator, carried out: what it observes (the desired update from the watcher, the
 * update agent's evt.state, command replies, health-trial rounds, lease answers, its own wake-ups) goes
 * to the shared DecisionEngine, which runs the pure `decide` of domain/orchestration-decide.ts, persists
 * the new record before anything is done, announces it (log, evt.state, status) and then carries out
 * the effects here. Nothing is decided in this file.
 *
 * The orchestrator follows the update agent's evt.state; a slow status poll (setting
 * updateStatusPollMs) only covers an event it missed. One wake-up timer, always re-armed to the next
 * instant `decide` asks for (a window boundary, a trial round, the safety-net poll).
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs, timestampMs } from '@bufbuild/protobuf/wkt';
import type { Subscription } from '@nats-io/nats-core';
import {
  ContractError,
  decode,
  decodeJsonText,
  DesiredUpdateSchema,
  encode,
  ErrorCode,
  HealthState,
  HistoryReplySchema,
  kvKeys,
  NodeApi,
  OrchestrationState,
  OrchestratorApi,
  OrchestratorStatusSchema,
  RunSchema,
  StateChangeSchema,
  UpdateApi,
  UpdateState,
  type OrchestratorStatus,
  type Run,
  type UpdateStatus,
} from '@outpost/contracts';
import { BusClient, type BusStores } from '@outpost/bus';
import {
  AGENT_CONTEXT,
  AGENT_LOGGER,
  AGENT_SETTINGS,
  BUS_STORES,
  DecisionEngine,
  StatusReporter,
  type AgentContext,
  type SettingsOf,
} from '@outpost/agent-runtime';
import { runChecks } from './checks/check-runner.js';
import type { orchestratorSettings } from './config/orchestrator.settings.js';
import { ORCHESTRATOR_CLOCK } from './orchestrator.tokens.js';
import type { Clock } from './domain/clock.js';
import {
  nextWindows,
  startOffset,
  validateDesired,
  type Desired,
  type Interval,
} from '@outpost/update-domain';
import {
  decide,
  type DecidePolicy,
  type Effect,
  type Observation,
  type UpdateCommand,
} from './domain/orchestration-decide.js';
import { initialRecord, type OrchestratorRecord, type UpdateView } from './domain/orchestration-record.js';
import { IllegalTransition, transition } from './domain/orchestration-state.js';
import { hubLeaseBucket, RolloutLeases } from './leases/rollout-leases.js';
import { OrchestratorStateStore } from './state/orchestrator-state.store.js';

type Settings = SettingsOf<typeof orchestratorSettings>;
type Engine = DecisionEngine<OrchestratorRecord, Observation, Effect>;
type TrialEffect = Extract<Effect, { kind: 'health-check' }>;
const LOG = 'Orchestrator';
const MINUTE = 60_000;

@Injectable()
export class OrchestratorService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly store: OrchestratorStateStore;
  private readonly leases: RolloutLeases;
  private readonly policy: DecidePolicy;
  private engine?: Engine;
  private readonly startRecord: OrchestratorRecord;
  private started!: () => void;
  /** Resolves once the record is loaded: nothing is decided before. */
  private readonly loaded = new Promise<void>((resolve) => (this.started = resolve));
  private closed = false;
  private sleeper?: AbortController;
  private sub?: Subscription;
  /** Monotonic start of the health trial under way, the rounds running and the next round asked for. */
  private trialBegan?: number;
  private trialRounds?: Promise<void>;
  private nextTrial?: TrialEffect;

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: Settings,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    @Inject(ORCHESTRATOR_CLOCK) private readonly clock: Clock,
    private readonly client: BusClient,
    private readonly status: StatusReporter,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {
    this.store = new OrchestratorStateStore(ctx.paths.stateDir);
    this.leases = new RolloutLeases(
      settings.leaseDomain ? hubLeaseBucket(client.connection, settings.leaseDomain) : stores.status,
    );
    this.policy = {
      nodeId: ctx.nodeId,
      expectedUpdateMs: settings.expectedUpdateMinutes * MINUTE,
      minimumWindowLeftMs: settings.minimumWindowLeftMinutes * MINUTE,
      jitterFraction: settings.jitterPercent / 100,
      statusPollMs: settings.updateStatusPollMs,
      trialPollMs: settings.trialPollMs,
      leaseRetryMs: settings.leaseRetryMs,
      offNodeChecksCount: settings.offNodeChecksCount,
      historyLength: settings.historyLength,
    };
    this.startRecord = initialRecord(clock.now());
  }

  async onApplicationBootstrap(): Promise<void> {
    let record = this.startRecord;
    try {
      record = (await this.store.load()) ?? record;
    } catch (err) {
      // A corrupt file must not wedge updates forever: start over, loudly.
      this.logger.error(`state not readable, starting from IDLE: ${String(err)}`, LOG);
    }
    this.engine = new DecisionEngine<OrchestratorRecord, Observation, Effect>(record, {
      decide: (r, o, now) => this.decideLegal(r, o, now.getTime()),
      persist: (r) => this.store.save(r),
      publish: (r, previous) => this.announce(r, previous),
      onPublishError: (err) => this.logger.warn(`evt.state not published: ${String(err)}`, LOG),
      execute: (effect) => this.execute(effect),
      clock: () => new Date(this.clock.now()),
    });
    this.logger.log(`resuming in ${record.state}${record.run ? ` (${record.run.version})` : ''}`, LOG);
    this.sub = this.client.connection.subscribe(UpdateApi.evt.state.subject(this.ctx.nodeId), {
      callback: (err, msg) => {
        if (err) return;
        try {
          const change = decode(StateChangeSchema, msg.data);
          if (change.status) void this.observeUpdate(change.status);
        } catch (e) {
          this.logger.warn(`update evt.state not understood: ${String(e)}`, LOG);
        }
      },
    });
    this.report(record);
    this.started();
    void this.observe({ kind: 'started' });
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.sleeper?.abort();
    this.sub?.unsubscribe();
    await this.store.settled();
  }

  // ---- inputs ---------------------------------------------------------------------------------

  /** A new value of KV edge_desired <nodeId>.update (JSON text). */
  async receiveDesired(text: string, revision: number): Promise<void> {
    await this.loaded;
    const d = parseDesired(text);
    if (typeof d === 'string') {
      const reason = `desired update revision ${revision} rejected: ${d}`;
      this.logger.warn(`${reason} (keeping the last good one)`, LOG);
      return this.observe({ kind: 'desired-rejected', reason });
    }
    this.logger.log(`desired update revision ${revision}: ${d.manifest.version} retry ${d.retry}`, LOG);
    return this.observe({ kind: 'desired', desired: d });
  }

  private async observeUpdate(u: UpdateStatus): Promise<void> {
    await this.observe(await this.updateObservation(u));
  }

  private async observe(obs: Observation): Promise<void> {
    if (this.closed || !this.engine) return;
    try {
      await this.engine.submit(obs);
    } catch (err) {
      if (!this.closed)
        this.logger.warn(`${obs.kind} in ${this.record.state} not handled: ${String(err)}`, LOG);
    }
  }

  private get record(): OrchestratorRecord {
    return this.engine?.record ?? this.startRecord;
  }

  /** `decide`, with its answer checked against the transition table (illegal: logged and refused). */
  private decideLegal(r: OrchestratorRecord, obs: Observation, now: number) {
    const d = decide(r, obs, now, this.policy);
    if (d.next.state !== r.state || d.next.since !== r.since) {
      try {
        transition(r.state, d.next.state);
      } catch (err) {
        if (err instanceof IllegalTransition) this.logger.error(err.message, LOG);
        throw err;
      }
    }
    return d;
  }

  // ---- effects --------------------------------------------------------------------------------

  private async execute(effect: Effect): Promise<Observation | undefined> {
    if (this.closed) return undefined;
    switch (effect.kind) {
      case 'download':
        return this.command('download', () =>
          this.client.request(UpdateApi.cmd.download, { manifest: effect.manifest }),
        );
      case 'install':
        return this.command('install', () => this.client.request(UpdateApi.cmd.install, {}));
      case 'reboot':
        return this.command('reboot', () => this.client.request(UpdateApi.cmd.reboot, {}));
      case 'commit':
        return this.command('commit', () => this.client.request(UpdateApi.cmd.commit, {}));
      case 'rollback':
        return this.command('rollback', () =>
          this.client.request(UpdateApi.cmd.rollback, { reason: effect.reason, detail: effect.detail }),
        );
      case 'abort':
        await this.client.request(UpdateApi.cmd.abort, {}).catch(() => undefined);
        return undefined;
      case 'poll-update':
        try {
          return await this.updateObservation(await this.client.request(UpdateApi.cmd.status, {}));
        } catch (err) {
          this.logger.warn(`update agent status not read (asked again later): ${String(err)}`, LOG);
          return undefined;
        }
      case 'health-check':
        // Rounds run beside the queue (checks take seconds), one at a time; each result is observed
        // when it ends. A round asked for while one runs follows it (the newest request wins).
        this.nextTrial = effect;
        this.trialRounds ??= this.runTrialRounds().finally(() => (this.trialRounds = undefined));
        return undefined;
      case 'acquire-lease': {
        const got = await this.leases
          .acquire(effect.group, effect.max, this.ctx.nodeId, effect.version, effect.ttlMs, this.clock.now())
          .catch((err: unknown) => ({ ok: false as const, reason: String(err), retryAt: undefined }));
        return got.ok
          ? { kind: 'lease', granted: true, slot: got.slot }
          : { kind: 'lease', granted: false, reason: got.reason, retryAt: got.retryAt };
      }
      case 'renew-lease': {
        const got = await this.leases
          .acquire(effect.group, effect.max, this.ctx.nodeId, effect.version, effect.ttlMs, this.clock.now())
          .catch((err: unknown) => ({ ok: false as const, reason: String(err) }));
        if (!got.ok) this.logger.warn(`rollout lease not renewed: ${got.reason}`, LOG);
        return undefined;
      }
      case 'release-lease':
        // On failure it expires by itself; other nodes wait at most until then.
        await this.leases
          .release(effect.group, effect.slot, this.ctx.nodeId)
          .catch((err: unknown) =>
            this.logger.warn(`rollout lease not released (it expires): ${String(err)}`, LOG),
          );
        return undefined;
      case 'wake':
        this.wakeAt(effect.at);
        return undefined;
      case 'record-history':
        await this.writeHistoryKv();
        return undefined;
    }
  }

  /** A command to the update agent: its reply is observed; a refusal for good too; a transient error is logged. */
  private async command(
    name: UpdateCommand,
    ask: () => Promise<UpdateStatus>,
  ): Promise<Observation | undefined> {
    try {
      return await this.updateObservation(await ask());
    } catch (err) {
      if (transient(err)) {
        this.logger.warn(`cmd.${name} to the update agent failed (asked again later): ${String(err)}`, LOG);
        return undefined;
      }
      return { kind: 'refused', command: name, message: (err as Error).message };
    }
  }

  private async runTrialRounds(): Promise<void> {
    for (let effect = this.nextTrial; effect && !this.closed; effect = this.nextTrial) {
      this.nextTrial = undefined;
      if (effect.fresh || this.trialBegan === undefined) this.trialBegan = this.clock.monotonic();
      await this.runTrialRound(effect);
    }
  }

  private async runTrialRound(effect: TrialEffect): Promise<void> {
    const node = await this.nodeHealth();
    const results = await runChecks(effect.checks);
    // A stopping agent concludes nothing: the next start judges again.
    if (this.closed) return;
    void this.observe({
      kind: 'health',
      target: effect.target,
      elapsedMs: this.clock.monotonic() - (this.trialBegan ?? this.clock.monotonic()),
      nodeHealthy: node?.healthy,
      nodeReasons: node?.reasons ?? [],
      results,
    });
  }

  /** The single wake-up: re-armed to `at`, replacing the one before. */
  private wakeAt(at: number): void {
    this.sleeper?.abort();
    const sleeper = new AbortController();
    this.sleeper = sleeper;
    void this.clock.sleepUntil(at, sleeper.signal).then((due) => {
      if (due && this.sleeper === sleeper) void this.observe({ kind: 'timer' });
    });
  }

  private async updateObservation(u: UpdateStatus): Promise<Observation> {
    const uptime = await this.ctx.device.hostUptimeSeconds().catch(() => undefined);
    return {
      kind: 'update',
      update: updateView(u),
      bootedAt: uptime === undefined ? undefined : this.clock.now() - uptime * 1000,
    };
  }

  private async nodeHealth(): Promise<{ healthy: boolean; reasons: string[] } | undefined> {
    try {
      const h = await this.client.request(NodeApi.cmd.health, {}, { timeoutMs: 2_000 });
      return { healthy: h.state === HealthState.HEALTHY, reasons: h.reasons };
    } catch {
      return undefined;
    }
  }

  private async writeHistoryKv(): Promise<void> {
    try {
      await this.stores.status.put(
        kvKeys.orchestratorHistory(this.ctx.nodeId),
        encode(HistoryReplySchema, create(HistoryReplySchema, { runs: this.history() })),
      );
    } catch (err) {
      this.logger.warn(`history not written to KV: ${String(err)}`, LOG);
    }
  }

  // ---- announcing a new record ----------------------------------------------------------------

  private announce(r: OrchestratorRecord, previous: OrchestratorRecord): void {
    this.report(r);
    if (r.state === previous.state && r.since === previous.since) {
      if (r.detail !== previous.detail) this.logger.log(`${r.state}: ${r.detail}`, LOG);
      return;
    }
    this.logger.log(`${previous.state} -> ${r.state}: ${r.detail}`, LOG);
    this.client.publish(OrchestratorApi.evt.state, {
      from: OrchestrationState[previous.state],
      status: this.statusMessage(r),
    });
  }

  private report(r: OrchestratorRecord): void {
    const reasons: string[] = [];
    if (r.rejected) reasons.push(r.rejected);
    if (r.state === 'HALTED') reasons.push(`update HALTED, needs a human: ${r.detail}`);
    if (reasons.length) this.status.degraded(...reasons);
    else this.status.ready();
  }

  // ---- views for the command handler ----------------------------------------------------------

  statusMessage(r: OrchestratorRecord = this.record): OrchestratorStatus {
    const run = r.run;
    return create(OrchestratorStatusSchema, {
      state: OrchestrationState[r.state],
      version: run?.version ?? '',
      retry: run?.retry ?? 0,
      detail: r.detail,
      since: timestampFromMs(r.since),
      nextWindow:
        r.state === 'WAITING_WINDOW' && r.window
          ? { start: timestampFromMs(r.window.start), end: timestampFromMs(r.window.end) }
          : undefined,
      updateState: r.update?.state ?? UpdateState.UNSPECIFIED,
      rejected: r.rejected ?? '',
    });
  }

  windows(count: number): { windows: Interval[]; open?: Interval; reason: string; offsetMs: number } {
    const r = this.record;
    const d = r.runDesired ?? r.desired;
    const now = this.clock.now();
    const list = d ? nextWindows(d.windows, now, count) : [];
    const open = list[0] && list[0].start <= now ? list[0] : undefined;
    const reason =
      r.state === 'WAITING_WINDOW' ? r.detail : d ? `not waiting (${r.state})` : 'no desired update';
    const offsetMs = list[0] ? startOffset(this.ctx.nodeId, list[0], this.settings.jitterPercent / 100) : 0;
    return { windows: list, open, reason, offsetMs };
  }

  history(): Run[] {
    return this.record.history.map((h) =>
      create(RunSchema, {
        version: h.version,
        retry: h.retry,
        startedAt: timestampFromMs(h.startedAt),
        endedAt: h.endedAt === undefined ? undefined : timestampFromMs(h.endedAt),
        windowsWaited: h.windowsWaited,
        downloadMs: BigInt(Math.max(0, Math.round(h.downloadMs))),
        waitMs: BigInt(Math.max(0, Math.round(h.waitMs))),
        installMs: BigInt(Math.max(0, Math.round(h.installMs))),
        verifyMs: BigInt(Math.max(0, Math.round(h.verifyMs))),
        result: h.result ? OrchestrationState[h.result] : OrchestrationState.UNSPECIFIED,
        reason: h.reason,
      }),
    );
  }
}

function parseDesired(text: string): Desired | string {
  try {
    return validateDesired(decodeJsonText(DesiredUpdateSchema, text));
  } catch (err) {
    return err instanceof ContractError ? err.message : String(err);
  }
}

function updateView(u: UpdateStatus): UpdateView {
  return {
    state: u.state,
    version: u.version,
    activeSlot: u.activeSlot,
    targetSlot: u.targetSlot,
    reason: u.reason,
    detail: u.detail,
    since: u.since ? timestampMs(u.since) : 0,
  };
}

/** The update agent is not there (yet): ask again later instead of failing the run. */
function transient(err: unknown): boolean {
  return (
    !(err instanceof ContractError) || [ErrorCode.UNAVAILABLE, ErrorCode.DEADLINE_EXCEEDED].includes(err.code)
  );
}
