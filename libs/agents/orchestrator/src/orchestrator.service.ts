/**
 * The orchestration engine. One loop, serialized: each step looks at the state, asks the update
 * agent (over the bus) or the domain what to do, makes at most one transition and says when it
 * wants to run again (an exact instant: a window boundary, or the next status read). Events
 * (desired state changed, update agent evt.state) wake it early. State is persisted before every
 * side effect that may not return (reboot, rollback), so a restart resumes where it stood.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { Subscription } from '@nats-io/nats-core';
import {
  ContractError,
  decodeJsonText,
  ErrorCode,
  DesiredUpdateSchema,
  encode,
  FailureReason,
  HealthState,
  HistoryReplySchema,
  kvKeys,
  NodeApi,
  OrchestrationState,
  OrchestratorApi,
  OrchestratorStatusSchema,
  RunSchema,
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
  StatusReporter,
  type AgentContext,
  type SettingsOf,
} from '@outpost/agent-runtime';
import { runChecks } from './checks/check-runner.js';
import type { orchestratorSettings } from './config/orchestrator.settings.js';
import { ORCHESTRATOR_CLOCK } from './orchestrator.tokens.js';
import type { Clock } from './domain/clock.js';
import { validateDesired, type Desired } from './domain/desired.js';
import { afterRollback, judgeTrial, type CheckSpec } from './domain/health-trial.js';
import {
  IllegalTransition,
  RUN_ENDS,
  shouldStartRun,
  transition,
  type State,
} from './domain/orchestration-state.js';
import { installDecision, nextWindows, startOffset, type Interval } from './domain/windows.js';
import { hubLeaseBucket, RolloutLeases } from './leases/rollout-leases.js';
import {
  OrchestratorStateStore,
  type PersistedState,
  type RunRecord,
} from './state/orchestrator-state.store.js';

type Settings = SettingsOf<typeof orchestratorSettings>;
const LOG = 'Orchestrator';
const MINUTE = 60_000;

@Injectable()
export class OrchestratorService implements OnApplicationBootstrap, OnModuleDestroy {
  private s: PersistedState = { state: 'IDLE', since: Date.now(), detail: '', history: [] };
  private readonly store: OrchestratorStateStore;
  private readonly leases: RolloutLeases;
  private desired?: Desired;
  private rejected = '';
  private loopRunning = false;
  private again = false;
  private closed = false;
  private sleeper?: AbortController;
  private sub?: Subscription;
  private lastUpdate?: UpdateStatus;
  private waitWindow?: Interval;

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
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      const loaded = await this.store.load();
      if (loaded) this.s = loaded;
    } catch (err) {
      // A corrupt file must not wedge updates forever: start over, loudly.
      this.logger.error(`state not readable, starting from IDLE: ${String(err)}`, LOG);
    }
    if (this.s.desiredJson) {
      const d = this.parseDesired(this.s.desiredJson);
      if (typeof d !== 'string') this.desired = d;
    }
    this.logger.log(`resuming in ${this.s.state}${this.s.run ? ` (${this.s.run.version})` : ''}`, LOG);
    this.sub = this.client.connection.subscribe(UpdateApi.evt.state.subject(this.ctx.nodeId), {
      callback: () => this.kick(),
    });
    this.report();
    this.kick();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.sleeper?.abort();
    this.sub?.unsubscribe();
  }

  // ---- inputs ---------------------------------------------------------------------------------

  /** A new value of KV edge_desired <nodeId>.update (JSON text). */
  async receiveDesired(text: string, revision: number): Promise<void> {
    const d = this.parseDesired(text);
    if (typeof d === 'string') {
      this.rejected = `desired update revision ${revision} rejected: ${d}`;
      this.logger.warn(`${this.rejected} (keeping the last good one)`, LOG);
      this.report();
      return;
    }
    this.rejected = '';
    this.desired = d;
    this.s.desiredJson = text;
    this.logger.log(`desired update revision ${revision}: ${d.manifest.version} retry ${d.retry}`, LOG);
    // Saves are serialised by the store, so this one never lands over a newer transition's.
    await this.persist().catch((err: unknown) =>
      this.logger.error(`desired update not persisted (kept in memory): ${String(err)}`, LOG),
    );
    this.report();
    this.kick();
  }

  private parseDesired(text: string): Desired | string {
    try {
      return validateDesired(decodeJsonText(DesiredUpdateSchema, text));
    } catch (err) {
      return err instanceof ContractError ? err.message : String(err);
    }
  }

  // ---- the loop -------------------------------------------------------------------------------

  private kick(): void {
    this.again = true;
    this.sleeper?.abort();
    if (this.loopRunning || this.closed) return;
    this.loopRunning = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.again = false;
      let wakeAt: number | undefined;
      try {
        wakeAt = await this.step();
      } catch (err) {
        if (this.closed) break;
        this.logger.warn(`step in ${this.s.state} failed, retrying: ${String(err)}`, LOG);
        wakeAt = this.clock.now() + this.settings.updateStatusPollMs;
      }
      if (this.closed) break;
      if (this.again) continue;
      if (wakeAt === undefined) break;
      const sleeper = new AbortController();
      this.sleeper = sleeper;
      await this.clock.sleepUntil(wakeAt, sleeper.signal);
      this.sleeper = undefined;
    }
    this.loopRunning = false;
  }

  /** One step; returns when to run again (undefined: only when something happens). */
  private async step(): Promise<number | undefined> {
    const d = this.desired;
    const key = d && { version: d.manifest.version, retry: d.retry };
    const state = this.s.state;
    if (
      state === 'IDLE' ||
      RUN_ENDS.includes(state) ||
      state === 'DOWNLOADING' ||
      state === 'WAITING_WINDOW'
    ) {
      // Only before anything is written to a slot may a changed desired state replace the run.
      if (d && key && shouldStartRun(key, this.s.run)) return this.startRun(d);
      // Same version and retry, other windows or policy (an operator moved the window): the run
      // keeps its download and adopts them, still before anything is written to a slot.
      if (
        d &&
        (state === 'DOWNLOADING' || state === 'WAITING_WINDOW') &&
        this.s.desiredJson !== undefined &&
        this.s.runDesiredJson !== this.s.desiredJson
      ) {
        this.s.runDesiredJson = this.s.desiredJson;
        this.waitWindow = undefined;
        this.s.detail = 'maintenance windows or health policy changed; the run adopts them';
        this.logger.log(`${this.s.detail} (${d.manifest.version})`, LOG);
        await this.persist();
        this.report();
      }
    }
    switch (state) {
      case 'DOWNLOADING':
        return this.stepDownloading();
      case 'WAITING_WINDOW':
        return this.stepWaiting();
      case 'INSTALLING':
        return this.stepInstalling();
      case 'REBOOTING':
        return this.stepRebooting();
      case 'VERIFYING':
        return this.stepVerifying();
      case 'ROLLING_BACK':
        return this.stepRollingBack();
      default:
        return undefined;
    }
  }

  private async startRun(d: Desired): Promise<number | undefined> {
    const now = this.clock.now();
    if (this.s.run && !RUN_ENDS.includes(this.s.state) && this.s.state !== 'IDLE') {
      this.finishRecord(this.s.state, `superseded by ${d.manifest.version} retry ${d.retry}`);
      await this.releaseLease();
      const u = await this.updateStatus().catch(() => undefined);
      if (u && [UpdateState.DOWNLOADING, UpdateState.DOWNLOADED].includes(u.state))
        await this.client.request(UpdateApi.cmd.abort, {}).catch(() => undefined);
    }
    this.s.run = {
      version: d.manifest.version,
      retry: d.retry,
      startedAt: now,
      windowsWaited: 0,
      downloadMs: 0,
      waitMs: 0,
      installMs: 0,
      verifyMs: 0,
      reason: '',
      phaseAt: now,
    };
    this.s.runDesiredJson = this.s.desiredJson;
    await this.moveTo('DOWNLOADING', `downloading ${d.manifest.version}`);
    return this.requestDownload(d);
  }

  private async requestDownload(d: Desired): Promise<number | undefined> {
    try {
      this.noteUpdate(await this.client.request(UpdateApi.cmd.download, { manifest: d.manifest }));
    } catch (err) {
      if (!transient(err)) {
        await this.endRun('FAILED', `download refused by the update agent: ${(err as Error).message}`);
        return undefined;
      }
      throw err;
    }
    return this.clock.now() + this.settings.updateStatusPollMs;
  }

  private async stepDownloading(): Promise<number | undefined> {
    const d = this.runDesired();
    const run = this.requireRun();
    const u = await this.updateStatus();
    const ours = u.version === run.version;
    if (ours && u.state === UpdateState.DOWNLOADED) {
      run.downloadMs = this.clock.now() - run.phaseAt;
      run.phaseAt = this.clock.now();
      await this.moveTo('WAITING_WINDOW', 'staged; waiting for a maintenance window');
      return this.clock.now();
    }
    if (ours && u.state === UpdateState.DOWNLOADING)
      return this.clock.now() + this.settings.updateStatusPollMs;
    if (ours && u.state === UpdateState.FAILED) {
      await this.endRun('FAILED', `download failed: ${describeUpdate(u)}`);
      return undefined;
    }
    return d ? this.requestDownload(d) : undefined;
  }

  private async stepWaiting(): Promise<number | undefined> {
    const d = this.runDesired();
    const run = this.requireRun();
    if (!d) return undefined;
    const now = this.clock.now();
    const decision = installDecision(
      now,
      d.windows,
      this.ctx.nodeId,
      this.settings.expectedUpdateMinutes * MINUTE,
      this.settings.minimumWindowLeftMinutes * MINUTE,
      this.settings.jitterPercent / 100,
    );
    if (decision.action === 'wait') {
      this.waitWindow = decision.window;
      if (this.s.detail !== decision.reason) {
        this.s.detail = decision.reason;
        this.logger.log(`waiting: ${decision.reason}`, LOG);
        await this.persist();
        this.report();
      }
      return decision.until;
    }
    if (d.maxParallel > 0 && d.rolloutGroup) {
      const got = await this.leases.acquire(
        d.rolloutGroup,
        d.maxParallel,
        this.ctx.nodeId,
        run.version,
        this.leaseTtlMs(),
        now,
      );
      if (!got.ok) {
        this.waitWindow = decision.window;
        if (this.s.detail !== got.reason) {
          this.s.detail = got.reason;
          this.logger.log(`waiting: ${got.reason}`, LOG);
          await this.persist();
          this.report();
        }
        return Math.min(decision.window.end, got.retryAt ?? Infinity, now + this.settings.leaseRetryMs);
      }
      run.lease = { group: d.rolloutGroup, slot: got.slot };
    }
    run.windowsWaited = nextWindows(d.windows, run.phaseAt, 1000).filter(
      (w) => w.start < decision.window.start && w.end <= now,
    ).length;
    run.waitMs = now - run.phaseAt;
    run.phaseAt = now;
    this.waitWindow = decision.window;
    await this.moveTo(
      'INSTALLING',
      `installing in the window until ${new Date(decision.window.end).toISOString()}`,
    );
    try {
      this.noteUpdate(await this.client.request(UpdateApi.cmd.install, {}));
    } catch (err) {
      if (!transient(err)) {
        await this.endRun('FAILED', `install refused: ${(err as Error).message}`);
        return undefined;
      }
      throw err;
    }
    return this.clock.now() + this.settings.updateStatusPollMs;
  }

  private async stepInstalling(): Promise<number | undefined> {
    const run = this.requireRun();
    const u = await this.updateStatus();
    if (u.version === run.version && u.state === UpdateState.INSTALLED) {
      // Written before the reboot: after it, the new process knows a reboot was under way.
      await this.moveTo('REBOOTING', 'rebooting into the new slot');
      this.noteUpdate(await this.client.request(UpdateApi.cmd.reboot, {}));
      return this.clock.now() + this.settings.updateStatusPollMs;
    }
    if (u.state === UpdateState.FAILED) {
      await this.endRun('FAILED', `install failed: ${describeUpdate(u)}`);
      return undefined;
    }
    if (u.state === UpdateState.DOWNLOADED)
      this.noteUpdate(await this.client.request(UpdateApi.cmd.install, {}));
    return this.clock.now() + this.settings.updateStatusPollMs;
  }

  private async stepRebooting(): Promise<number | undefined> {
    const run = this.requireRun();
    const u = await this.updateStatus();
    switch (u.state) {
      case UpdateState.VERIFYING:
        run.installMs = this.clock.now() - run.phaseAt;
        run.phaseAt = this.clock.now();
        await this.moveTo('VERIFYING', 'booted the new slot; health trial running');
        await this.renewLease();
        return this.clock.now();
      case UpdateState.ROLLED_BACK: {
        // The boot loader fell back on its own: that was this run's one fallback.
        run.installMs = this.clock.now() - run.phaseAt;
        const why = `the new slot did not boot (${describeUpdate(u)})`;
        const old = await this.oldSlotTrial();
        await this.endRun(old.ok ? 'ROLLED_BACK' : 'HALTED', old.ok ? why : `${why}; ${old.reason}`);
        return undefined;
      }
      case UpdateState.INSTALLED:
        // The machine did not reboot (the update agent says so): ask again.
        this.noteUpdate(await this.client.request(UpdateApi.cmd.reboot, {}));
        return this.clock.now() + this.settings.updateStatusPollMs;
      case UpdateState.FAILED:
        await this.endRun('FAILED', `reboot failed: ${describeUpdate(u)}`);
        return undefined;
      default:
        return this.clock.now() + this.settings.updateStatusPollMs;
    }
  }

  private async stepVerifying(): Promise<number | undefined> {
    const run = this.requireRun();
    const d = this.runDesired();
    const checks = d?.checks ?? [];
    const deadlineMs = d?.deadlineMs ?? 300_000;
    const began = this.clock.monotonic();
    for (;;) {
      if (this.closed) return undefined;
      const node = await this.nodeHealth();
      const results = await runChecks(checks);
      if (this.closed) return undefined;
      const verdict = judgeTrial({
        elapsedMs: this.clock.monotonic() - began,
        deadlineMs,
        nodeHealthy: node?.healthy,
        nodeReasons: node?.reasons ?? [],
        checks,
        results,
        offNodeCounts: this.settings.offNodeChecksCount,
      });
      if (verdict.verdict === 'pass') {
        run.verifyMs = this.clock.now() - run.phaseAt;
        this.noteUpdate(await this.client.request(UpdateApi.cmd.commit, {}));
        const warn = verdict.warnings.length ? ` (warnings: ${verdict.warnings.join('; ')})` : '';
        await this.endRun('COMMITTED', `health trial passed${warn}`);
        return undefined;
      }
      if (verdict.verdict === 'fail') {
        run.verifyMs = this.clock.now() - run.phaseAt;
        const reason = verdict.reasons.join('; ');
        run.reason = `health trial failed: ${reason}`;
        // Written before the rollback: its reboot ends this process.
        run.rollbackAt = this.clock.now();
        await this.moveTo('ROLLING_BACK', run.reason);
        this.noteUpdate(
          await this.client.request(UpdateApi.cmd.rollback, {
            reason: FailureReason.HEALTH,
            detail: reason.slice(0, 1000),
          }),
        );
        return this.clock.now() + this.settings.updateStatusPollMs;
      }
      await this.clock.sleepUntil(this.clock.now() + this.settings.trialPollMs);
    }
  }

  private async stepRollingBack(): Promise<number | undefined> {
    const run = this.requireRun();
    const u = await this.updateStatus();
    // Unfinished: the request did not take (VERIFYING: a restart in between), or the update agent
    // recorded the rollback but the node still runs the new slot (its reboot did not happen, or did
    // not leave the slot). Ask again; the update agent bounds its reboots and says when it gives up.
    const stillOnNewSlot =
      u.state === UpdateState.ROLLED_BACK && u.targetSlot !== '' && u.activeSlot === u.targetSlot;
    if (u.state === UpdateState.VERIFYING || stillOnNewSlot) {
      try {
        this.noteUpdate(
          await this.client.request(UpdateApi.cmd.rollback, {
            reason: FailureReason.HEALTH,
            detail: run.reason,
          }),
        );
      } catch (err) {
        if (transient(err)) throw err;
        await this.endRun('HALTED', `${run.reason}; the rollback cannot finish: ${(err as Error).message}`);
        return undefined;
      }
      return this.clock.now() + this.settings.updateStatusPollMs;
    }
    // The update agent says ROLLED_BACK before its reboot: the old slot is judged only once it runs.
    if (u.state !== UpdateState.ROLLED_BACK || !(await this.rebootedSince(run.rollbackAt ?? 0)))
      return this.clock.now() + this.settings.updateStatusPollMs;
    const old = await this.oldSlotTrial();
    const to = afterRollback(old.ok);
    await this.endRun(to, to === 'HALTED' ? `${run.reason}; after the rollback ${old.reason}` : run.reason);
    return undefined;
  }

  /** The previous slot after a fallback: node health only, within the run's deadline. */
  private async oldSlotTrial(): Promise<{ ok: boolean; reason: string }> {
    const deadlineMs = this.runDesired()?.deadlineMs ?? 300_000;
    const checks: CheckSpec[] = [];
    const began = this.clock.monotonic();
    for (;;) {
      const node = await this.nodeHealth();
      const v = judgeTrial({
        elapsedMs: this.clock.monotonic() - began,
        deadlineMs,
        nodeHealthy: node?.healthy,
        nodeReasons: node?.reasons ?? [],
        checks,
        results: [],
      });
      // A stopping agent concludes nothing: the next start judges again.
      if (this.closed) throw new Error('stopping during the health trial');
      if (v.verdict === 'pass') return { ok: true, reason: '' };
      if (v.verdict === 'fail')
        return { ok: false, reason: `the previous slot is unhealthy too: ${v.reasons.join('; ')}` };
      await this.clock.sleepUntil(this.clock.now() + this.settings.trialPollMs);
    }
  }

  // ---- transitions, persistence, reporting ----------------------------------------------------

  private async moveTo(to: State, detail: string): Promise<void> {
    const from = this.s.state;
    try {
      transition(from, to);
    } catch (err) {
      if (err instanceof IllegalTransition) this.logger.error(err.message, LOG);
      throw err;
    }
    this.s.state = to;
    this.s.since = this.clock.now();
    this.s.detail = detail;
    await this.persist();
    this.logger.log(`${from} -> ${to}: ${detail}`, LOG);
    this.report();
    try {
      this.client.publish(OrchestratorApi.evt.state, {
        from: OrchestrationState[from],
        status: this.statusMessage(),
      });
    } catch (err) {
      this.logger.warn(`evt.state not published: ${String(err)}`, LOG);
    }
  }

  private async endRun(to: State, reason: string): Promise<void> {
    this.finishRecord(to, reason);
    await this.releaseLease();
    await this.moveTo(to, reason);
    await this.writeHistoryKv();
  }

  private finishRecord(result: State, reason: string): void {
    const run = this.requireRun();
    run.result = result;
    run.reason = reason;
    run.endedAt = this.clock.now();
    this.s.history = [...this.s.history, { ...run }].slice(-this.settings.historyLength);
  }

  private persist(): Promise<void> {
    return this.store.save(this.s);
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

  private report(): void {
    const reasons: string[] = [];
    if (this.rejected) reasons.push(this.rejected);
    if (this.s.state === 'HALTED') reasons.push(`update HALTED, needs a human: ${this.s.detail}`);
    if (reasons.length) this.status.degraded(...reasons);
    else this.status.ready();
  }

  /** Long enough for install + reboot + trial, twice over; renewed when the trial starts. */
  private leaseTtlMs(): number {
    return 2 * this.settings.expectedUpdateMinutes * MINUTE;
  }

  private async renewLease(): Promise<void> {
    const run = this.requireRun();
    const d = this.runDesired();
    if (!run.lease || !d) return;
    const got = await this.leases
      .acquire(
        run.lease.group,
        d.maxParallel,
        this.ctx.nodeId,
        run.version,
        this.leaseTtlMs(),
        this.clock.now(),
      )
      .catch((err: unknown) => ({ ok: false as const, reason: String(err) }));
    if (!got.ok) this.logger.warn(`rollout lease not renewed: ${got.reason}`, LOG);
  }

  private async releaseLease(): Promise<void> {
    const lease = this.s.run?.lease;
    if (!lease) return;
    try {
      await this.leases.release(lease.group, lease.slot, this.ctx.nodeId);
    } catch (err) {
      // It expires by itself; other nodes wait at most until then.
      this.logger.warn(`rollout lease not released (it expires): ${String(err)}`, LOG);
    }
  }

  /** Whether the machine booted after `instant` (boot time from the host uptime; unknown: yes). */
  private async rebootedSince(instant: number): Promise<boolean> {
    const uptime = await this.ctx.device.hostUptimeSeconds();
    return uptime === undefined || this.clock.now() - uptime * 1000 >= instant;
  }

  // ---- bus helpers ----------------------------------------------------------------------------

  private async updateStatus(): Promise<UpdateStatus> {
    const u = await this.client.request(UpdateApi.cmd.status, {});
    this.noteUpdate(u);
    return u;
  }

  private noteUpdate(u: UpdateStatus): void {
    this.lastUpdate = u;
  }

  private async nodeHealth(): Promise<{ healthy: boolean; reasons: string[] } | undefined> {
    try {
      const h = await this.client.request(NodeApi.cmd.health, {}, { timeoutMs: 2_000 });
      return { healthy: h.state === HealthState.HEALTHY, reasons: h.reasons };
    } catch {
      return undefined;
    }
  }

  private requireRun(): RunRecord {
    if (!this.s.run) throw new Error(`state ${this.s.state} without a run`);
    return this.s.run;
  }

  /** The desired state the current run started from (its health policy and windows). */
  private runDesired(): Desired | undefined {
    const text = this.s.runDesiredJson ?? this.s.desiredJson;
    if (!text) return undefined;
    const d = this.parseDesired(text);
    return typeof d === 'string' ? undefined : d;
  }

  // ---- views for the command handler ----------------------------------------------------------

  statusMessage(): OrchestratorStatus {
    const run = this.s.run;
    return create(OrchestratorStatusSchema, {
      state: OrchestrationState[this.s.state],
      version: run?.version ?? '',
      retry: run?.retry ?? 0,
      detail: this.s.detail,
      since: timestampFromMs(this.s.since),
      nextWindow:
        this.s.state === 'WAITING_WINDOW' && this.waitWindow
          ? { start: timestampFromMs(this.waitWindow.start), end: timestampFromMs(this.waitWindow.end) }
          : undefined,
      updateState: this.lastUpdate?.state ?? UpdateState.UNSPECIFIED,
      rejected: this.rejected,
    });
  }

  windows(count: number): { windows: Interval[]; open?: Interval; reason: string; offsetMs: number } {
    const d = this.runDesired() ?? this.desired;
    const now = this.clock.now();
    const list = d ? nextWindows(d.windows, now, count) : [];
    const open = list[0] && list[0].start <= now ? list[0] : undefined;
    const reason =
      this.s.state === 'WAITING_WINDOW'
        ? this.s.detail
        : d
          ? `not waiting (${this.s.state})`
          : 'no desired update';
    const offsetMs = list[0] ? startOffset(this.ctx.nodeId, list[0], this.settings.jitterPercent / 100) : 0;
    return { windows: list, open, reason, offsetMs };
  }

  history(): Run[] {
    return this.s.history.map((r) =>
      create(RunSchema, {
        version: r.version,
        retry: r.retry,
        startedAt: timestampFromMs(r.startedAt),
        endedAt: r.endedAt === undefined ? undefined : timestampFromMs(r.endedAt),
        windowsWaited: r.windowsWaited,
        downloadMs: BigInt(Math.max(0, Math.round(r.downloadMs))),
        waitMs: BigInt(Math.max(0, Math.round(r.waitMs))),
        installMs: BigInt(Math.max(0, Math.round(r.installMs))),
        verifyMs: BigInt(Math.max(0, Math.round(r.verifyMs))),
        result: r.result ? OrchestrationState[r.result] : OrchestrationState.UNSPECIFIED,
        reason: r.reason,
      }),
    );
  }
}

/** The update agent is not there (yet): retry later instead of failing the run. */
function transient(err: unknown): boolean {
  return (
    !(err instanceof ContractError) || [ErrorCode.UNAVAILABLE, ErrorCode.DEADLINE_EXCEEDED].includes(err.code)
  );
}

function describeUpdate(u: UpdateStatus): string {
  return `${FailureReason[u.reason] ?? 'UNSPECIFIED'}${u.detail ? `: ${u.detail}` : ''}`;
}
