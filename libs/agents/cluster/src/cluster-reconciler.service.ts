/**
 * Drives the cluster towards its desired state. It owns the persisted state machine: every change
 * goes through the transition table, is written to disk (write-fsync-rename) before the step it
 * starts, then published as edge.<nodeId>.cluster.evt.state and kept in KV edge_status
 * <nodeId>.cluster.state. One step runs at a time; a desired state that arrives meanwhile is acted on
 * when the step ends. Failures move to ERROR and are retried with capped exponential backoff; while
 * ACTIVE the readiness probe runs on an interval and the agent's status follows it.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  ClusterApi,
  ClusterReadiness,
  ClusterState,
  ClusterStatusSchema,
  ContractError,
  encode,
  ErrorCode,
  kvKeys,
  type ClusterStatus,
} from '@outpost/contracts';
import { BusClient, type BusStores } from '@outpost/bus';
import {
  AGENT_CONTEXT,
  AGENT_LOGGER,
  AGENT_SETTINGS,
  BUS_STORES,
  StatusReporter,
  type AgentContext,
  type SettingsOf,
} from '@outpost/agent-runtime';
import type { clusterSettings } from './config/cluster.settings.js';
import { retryDelayMs, type BackoffPolicy } from './domain/backoff.js';
import {
  applyTransition,
  IllegalTransitionError,
  initialMachine,
  type ClusterMachine,
  type TransitionInput,
} from './domain/cluster-machine.js';
import { CLUSTER_PROVIDER, type ClusterProvider, type OperationResult } from './domain/cluster-provider.js';
import { describeSpec, sameDesired, type ClusterSpec, type DesiredState } from './domain/cluster-spec.js';
import { nextAction } from './domain/reconcile.js';
import { statusReasons } from './domain/status-reasons.js';
import { desiredMessage, specMessage } from './handlers/cluster-messages.js';
import { ClusterStateStore } from './state/cluster-state.store.js';

type ClusterSettings = SettingsOf<typeof clusterSettings>;
const LOG = 'Cluster';
/** How long cmd.retry waits for the retry to start before answering with the state as it is. */
const RETRY_REPLY_WAIT_MS = 2_000;

@Injectable()
export class ClusterReconciler implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private machine: ClusterMachine = initialMachine(Date.now());
  private readonly store: ClusterStateStore;
  private readonly backoff: BackoffPolicy;
  private readiness = ClusterReadiness.UNKNOWN;
  private readinessDetail = '';
  private rejected = '';
  private loop?: Promise<void>;
  private again = false;
  private retryNow = false;
  private closed = false;
  private readonly stop = new AbortController();
  private retryTimer?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;
  private probing?: Promise<void>;
  private saving: Promise<void> = Promise.resolve();
  private kvFailing = false;
  private changeWaiters: (() => void)[] = [];

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: ClusterSettings,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    @Inject(CLUSTER_PROVIDER) private readonly provider: ClusterProvider,
    private readonly client: BusClient,
    private readonly status: StatusReporter,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {
    this.store = new ClusterStateStore(join(ctx.paths.stateDir, 'cluster'));
    this.backoff = {
      initialMs: settings.retryInitialMs,
      maxMs: Math.max(settings.retryInitialMs, settings.retryMaxMs),
      factor: settings.retryFactor,
    };
  }

  /** Loads the persisted machine before any handler or watcher can act on it. */
  async onModuleInit(): Promise<void> {
    const loaded = await this.store.load();
    if (loaded.kind === 'loaded') this.machine = loaded.machine;
    if (loaded.kind === 'unreadable') {
      const message = `state file unreadable (${loaded.reason}); moved to ${loaded.movedTo}, starting as INACTIVE`;
      this.logger.error(message, LOG);
      this.machine = { ...initialMachine(Date.now()), lastError: message };
    }
    this.logger.log(
      `offers ${this.provider.offered().join(', ') || 'no distribution'}; state ${ClusterState[this.machine.state]}`,
      LOG,
    );
  }

  onApplicationBootstrap(): void {
    this.publishState();
    this.kick();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.probeTimer);
    // Cancels a running installer: the state on disk stays INSTALLING/UNINSTALLING, so the next start
    // runs that step again.
    this.stop.abort();
    await Promise.allSettled([this.loop, this.probing, this.saving]);
  }

  /** A valid desired state from KV. */
  acceptDesired(desired: DesiredState, revision: number): void {
    const hadRejection = this.rejected !== '';
    this.rejected = '';
    if (sameDesired(desired, this.machine.desired)) {
      if (hadRejection) this.publishState();
      this.kick();
      return;
    }
    this.logger.log(
      `desired state (revision ${revision}): ${desired.presence === 'absent' ? 'absent' : describeSpec(desired.spec)}`,
      LOG,
    );
    // A new goal is acted on now, not after the backoff of the old one.
    const fresh = this.machine.state === ClusterState.ERROR ? { attempts: 0, nextRetryAt: undefined } : {};
    this.machine = { ...this.machine, desired, ...fresh };
    void this.persist().catch((err: unknown) =>
      this.logger.error(`desired state not persisted: ${String(err)}`, LOG),
    );
    this.publishState();
    this.kick();
  }

  /** An invalid desired state: logged and shown, nothing else changes. */
  rejectDesired(reason: string, revision: number): void {
    this.logger.warn(
      `desired state rejected (revision ${revision}): ${reason}; keeping ${
        this.machine.desired
          ? this.machine.desired.presence === 'absent'
            ? 'absent'
            : describeSpec(this.machine.desired.spec)
          : 'no desired state'
      }`,
      LOG,
    );
    this.rejected = reason;
    this.publishState();
  }

  current(): ClusterStatus {
    const m = this.machine;
    return create(ClusterStatusSchema, {
      nodeId: this.ctx.nodeId,
      state: m.state,
      desired: desiredMessage(m.desired),
      target: specMessage(m.target),
      readiness: this.readiness,
      readinessDetail: this.readinessDetail,
      lastError: m.lastError,
      attempts: m.attempts,
      nextRetryAt: m.nextRetryAt === undefined ? undefined : timestampFromDate(new Date(m.nextRetryAt)),
      desiredRejected: this.rejected,
      since: timestampFromDate(new Date(m.since)),
      sequence: BigInt(m.sequence),
    });
  }

  /** Skips the backoff wait of ERROR; answers once the retry has started (or with ERROR if it could not). */
  async retry(): Promise<ClusterStatus> {
    if (this.machine.state !== ClusterState.ERROR) {
      throw new ContractError(
        ErrorCode.FAILED_PRECONDITION,
        `retry needs state CLUSTER_STATE_ERROR (state is CLUSTER_STATE_${ClusterState[this.machine.state]})`,
      );
    }
    this.logger.log('retry requested', LOG);
    const changed = new Promise<void>((resolve) => {
      this.changeWaiters.push(resolve);
      setTimeout(resolve, RETRY_REPLY_WAIT_MS).unref();
    });
    this.retryNow = true;
    this.kick();
    await changed;
    return this.current();
  }

  // --- the work loop ---

  private kick(): void {
    if (this.closed) return;
    if (this.loop) {
      this.again = true;
      return;
    }
    this.loop = this.drive().finally(() => {
      this.loop = undefined;
      if (this.again) this.kick();
    });
  }

  private async drive(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.step();
      } catch (err) {
        // A fault of the agent itself (e.g. the state file cannot be written): try again later.
        this.logger.error(`reconcile failed: ${(err as Error).stack ?? String(err)}`, LOG);
        this.scheduleKick(this.backoff.initialMs);
      }
    } while (this.again && !this.closed);
  }

  private async step(): Promise<void> {
    clearTimeout(this.retryTimer);
    const retryNow = this.retryNow;
    this.retryNow = false;
    const now = Date.now();
    const action = nextAction(this.machine, now, retryNow);
    switch (action.kind) {
      case 'none':
        break;
      case 'wait':
        // Capped, so a wall clock that jumped back cannot postpone the retry for longer than the cap.
        this.scheduleKick(Math.min(action.until - now, this.backoff.maxMs));
        break;
      case 'install':
      case 'uninstall':
        if (await this.operate(action.kind, action.spec, action.resume)) this.again = true;
        break;
    }
    this.followReadiness();
  }

  /** Runs one install or uninstall; true if the machine moved (so the loop looks again). */
  private async operate(op: 'install' | 'uninstall', spec: ClusterSpec, resume: boolean): Promise<boolean> {
    if (resume) {
      this.logger.warn(`resuming ${op} of ${describeSpec(spec)}: the agent stopped during it`, LOG);
    } else {
      const reason =
        this.machine.state === ClusterState.ERROR
          ? `retry after ${this.machine.attempts} failure${this.machine.attempts === 1 ? '' : 's'}`
          : this.machine.state === ClusterState.ACTIVE && op === 'install'
            ? 'desired parameters changed'
            : `desired state ${this.machine.desired?.presence ?? 'unknown'}`;
      if (!(await this.transition({ name: op, spec }, reason))) return false;
    }
    const result = await this.runProvider(op, spec);
    if (result.aborted || this.closed) return false;
    if (result.ok) {
      return this.transition(
        { name: op === 'install' ? 'installSucceeded' : 'uninstallSucceeded' },
        `${op} of ${describeSpec(spec)} succeeded`,
      );
    }
    const delay = retryDelayMs(this.machine.attempts + 1, this.backoff);
    this.logger.warn(`${op} of ${describeSpec(spec)} failed: ${result.reason}; retry in ${delay} ms`, LOG);
    return this.transition(
      {
        name: op === 'install' ? 'installFailed' : 'uninstallFailed',
        error: result.reason,
        retryAt: Date.now() + delay,
      },
      `${op} failed`,
    );
  }

  /** The provider's answer; a provider that throws (e.g. the distribution left the config) counts as a failure. */
  private async runProvider(op: 'install' | 'uninstall', spec: ClusterSpec): Promise<OperationResult> {
    try {
      return await (op === 'install'
        ? this.provider.install(spec, this.stop.signal)
        : this.provider.uninstall(spec, this.stop.signal));
    } catch (err) {
      return { ok: false, aborted: false, reason: (err as Error).message ?? String(err) };
    }
  }

  private async transition(input: TransitionInput, reason: string): Promise<boolean> {
    const from = this.machine.state;
    let next: ClusterMachine;
    try {
      next = applyTransition(this.machine, input, Date.now());
    } catch (err) {
      if (!(err instanceof IllegalTransitionError)) throw err;
      this.logger.error(`${err.message}; rejected (${reason})`, LOG);
      return false;
    }
    this.machine = next;
    await this.persist();
    this.logger.log(`${ClusterState[from]} -> ${ClusterState[next.state]}: ${reason}`, LOG);
    this.publishEvent(from, reason);
    this.followReadiness();
    this.publishState();
    for (const notify of this.changeWaiters.splice(0)) notify();
    return true;
  }

  private scheduleKick(ms: number): void {
    clearTimeout(this.retryTimer);
    if (this.closed) return;
    this.retryTimer = setTimeout(() => this.kick(), Math.max(0, ms));
    this.retryTimer.unref();
  }

  /** Saves the machine as it is when the write runs; writes are serialized so the newest one wins. */
  private persist(): Promise<void> {
    const run = this.saving.then(() => this.store.save(this.machine));
    this.saving = run.catch(() => undefined);
    return run;
  }

  // --- readiness ---

  /** The probe runs while ACTIVE, and readiness is UNKNOWN otherwise. */
  private followReadiness(): void {
    if (this.machine.state === ClusterState.ACTIVE && !this.closed) {
      if (this.probeTimer) return;
      this.probeTimer = setInterval(() => this.probe(), this.settings.probeIntervalMs);
      this.probeTimer.unref();
      this.probe();
      return;
    }
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.setReadiness(ClusterReadiness.UNKNOWN, '');
  }

  private probe(): void {
    const distribution = this.machine.installed?.distribution;
    if (this.probing || !distribution || this.closed) return;
    this.probing = this.provider
      .probe(distribution, this.stop.signal)
      .then((result) => {
        if (result.aborted || this.closed || this.machine.state !== ClusterState.ACTIVE) return;
        this.setReadiness(
          result.ok ? ClusterReadiness.READY : ClusterReadiness.NOT_READY,
          result.ok ? '' : result.reason,
        );
      })
      .catch((err: unknown) => this.logger.error(`readiness probe failed to run: ${String(err)}`, LOG))
      .finally(() => (this.probing = undefined));
  }

  private setReadiness(readiness: ClusterReadiness, detail: string): void {
    if (readiness === this.readiness && detail === this.readinessDetail) return;
    if (readiness !== this.readiness) {
      this.logger.log(`readiness ${ClusterReadiness[readiness]}${detail ? `: ${detail}` : ''}`, LOG);
    }
    this.readiness = readiness;
    this.readinessDetail = detail;
    this.publishState();
  }

  // --- publishing ---

  private publishEvent(from: ClusterState, reason: string): void {
    if (this.client.connection.isClosed()) return;
    const m = this.machine;
    try {
      this.client.publish(ClusterApi.evt.state, {
        nodeId: this.ctx.nodeId,
        from,
        to: m.state,
        reason,
        target: specMessage(m.target),
        attempts: m.attempts,
        nextRetryAt: m.nextRetryAt === undefined ? undefined : timestampFromDate(new Date(m.nextRetryAt)),
        at: timestampFromDate(new Date(m.since)),
        sequence: BigInt(m.sequence),
      });
    } catch (err) {
      this.logger.warn(`state event not published: ${String(err)}`, LOG);
    }
  }

  /** The agent status (READY/DEGRADED) and the KV copy of ClusterStatus. */
  private publishState(): void {
    const reasons = statusReasons(this.machine, {
      readiness: this.readiness,
      readinessDetail: this.readinessDetail,
      rejected: this.rejected,
    });
    if (reasons.length === 0) this.status.ready();
    else this.status.degraded(...reasons);
    if (this.client.connection.isClosed() || this.client.connection.isDraining()) return;
    this.stores.status
      .put(kvKeys.clusterState(this.ctx.nodeId), encode(ClusterStatusSchema, this.current()))
      .then(
        () => (this.kvFailing = false),
        (err: unknown) => {
          if (!this.kvFailing) this.logger.warn(`cluster state not written to KV: ${String(err)}`, LOG);
          this.kvFailing = true;
        },
      );
  }
}
