/**
 * The orchestrator's step policy, pure: `decide(record, observation, now, policy)` says which state
 * comes next and which effects the service carries out (ask the update agent, run a health-trial
 * round, take or give back a rollout lease, wake up later, write the history). No Nest, no NATS, no
 * fs: whatever the service observed (an update agent status from its evt.state, a command reply or
 * the safety-net poll; a health-trial round; a lease answer; a timer) comes in as an observation.
 *
 * Every state change it returns is one the transition table (orchestration-state.ts) allows. A
 * request that announces a side effect that may not return (reboot, rollback) is part of the state
 * that is persisted before the effect runs, so a restart (`started`) resumes it. A repeated request to
 * the update agent waits one status poll interval after the last one (`run.askedAt`), so an event
 * that arrives late never makes the orchestrator ask twice at once.
 */
import { FailureReason, UpdateState, type UpdateManifest } from '@outpost/contracts';
import { shouldStartRun, RUN_ENDS, type State } from './orchestration-state.js';
import { installDecision, nextWindows, type Desired, type InstallDecision } from '@outpost/update-domain';
import { judgeTrial, type CheckResult, type CheckSpec } from './health-trial.js';
import type { OrchestratorRecord, RunRecord, UpdateView } from './orchestration-record.js';

/** The settings `decide` applies (from the agent's typed settings and its node id). */
export interface DecidePolicy {
  nodeId: string;
  /** An install starts only with this much window left (and at least minimumWindowLeftMs). */
  expectedUpdateMs: number;
  minimumWindowLeftMs: number;
  jitterFraction: number;
  /** The safety-net status poll while the update agent works (its evt.state drives otherwise). */
  statusPollMs: number;
  /** Between two rounds of a health trial. */
  trialPollMs: number;
  /** With a full rollout group, the lease is tried again this often. */
  leaseRetryMs: number;
  offNodeChecksCount: boolean;
  historyLength: number;
}

export type TrialTarget = 'new-slot' | 'old-slot';
export type UpdateCommand = 'download' | 'install' | 'reboot' | 'commit' | 'rollback';

export type Observation =
  /** The agent (re)started with this record: resume what it stood in. */
  | { kind: 'started' }
  /** A valid desired update arrived (KV edge_desired <nodeId>.update). */
  | { kind: 'desired'; desired: Desired }
  /** An invalid one arrived: the last good one stays. */
  | { kind: 'desired-rejected'; reason: string }
  /** The update agent's status; `bootedAt`: wall time the host booted (undefined: unknown). */
  | { kind: 'update'; update: UpdateView; bootedAt?: number }
  /** The update agent refused a command for good (not a transient error: those are retried). */
  | { kind: 'refused'; command: UpdateCommand; message: string }
  /** One round of a health trial: node health and the checks' results, `elapsedMs` into the trial. */
  | {
      kind: 'health';
      target: TrialTarget;
      elapsedMs: number;
      nodeHealthy: boolean | undefined;
      nodeReasons: string[];
      results: CheckResult[];
    }
  /** The answer to acquire-lease. */
  | { kind: 'lease'; granted: true; slot: number }
  | { kind: 'lease'; granted: false; reason: string; retryAt?: number }
  /** A wake-up asked for earlier is due. */
  | { kind: 'timer' };

export type Effect =
  | { kind: 'download'; manifest: UpdateManifest }
  /** Stop the update agent's staging of a superseded run. */
  | { kind: 'abort' }
  | { kind: 'install' }
  | { kind: 'reboot' }
  | { kind: 'commit' }
  | { kind: 'rollback'; reason: FailureReason; detail: string }
  /** Read the update agent's status (after a start, and as the safety net for a missed event). */
  | { kind: 'poll-update' }
  /** One round of a health trial; `fresh`: the trial's deadline counts from this round. */
  | { kind: 'health-check'; target: TrialTarget; checks: CheckSpec[]; fresh: boolean }
  | { kind: 'acquire-lease'; group: string; max: number; version: string; ttlMs: number }
  /** Extend the lease held (its answer is only logged). */
  | { kind: 'renew-lease'; group: string; max: number; version: string; ttlMs: number }
  | { kind: 'release-lease'; group: string; slot: number }
  /** Observe `timer` at `at` (replaces any earlier wake-up). */
  | { kind: 'wake'; at: number }
  /** Write the history of finished runs (KV edge_status). */
  | { kind: 'record-history' };

export interface Decision {
  next: OrchestratorRecord;
  effects: Effect[];
}

const DEFAULT_DEADLINE_MS = 300_000;
/** Where a changed desired update may still replace the run: nothing is written to a slot yet. */
const REPLACEABLE: readonly State[] = ['IDLE', ...RUN_ENDS, 'DOWNLOADING', 'WAITING_WINDOW'];

export function decide(
  record: OrchestratorRecord,
  obs: Observation,
  now: number,
  policy: DecidePolicy,
): Decision {
  const step = new Step(record, now, policy);
  if (obs.kind === 'desired') {
    step.next.desired = obs.desired;
    step.next.rejected = '';
  } else if (obs.kind === 'desired-rejected') {
    step.next.rejected = obs.reason;
    return step.done();
  } else if (obs.kind === 'update') {
    step.next.update = obs.update;
  } else if (obs.kind === 'lease' && (record.state !== 'WAITING_WINDOW' || !record.run)) {
    // Granted too late (the run moved on): give it back.
    if (obs.granted && record.run?.lease?.slot !== obs.slot && step.next.runDesired?.rolloutGroup)
      step.effects.push({ kind: 'release-lease', group: step.next.runDesired.rolloutGroup, slot: obs.slot });
    return step.done();
  }
  if (
    REPLACEABLE.includes(record.state) &&
    (obs.kind === 'desired' || obs.kind === 'started' || obs.kind === 'timer') &&
    step.replaceRun()
  )
    return step.done();
  STEPS[record.state]?.(step, obs);
  return step.done();
}

type StateStep = (s: Step, obs: Observation) => void;

/** What each state does with each observation (states not listed wait for a new desired update). */
const STEPS: Partial<Record<State, StateStep>> = {
  DOWNLOADING: (s, obs) => {
    if (obs.kind === 'started' || obs.kind === 'timer') return s.poll();
    if (obs.kind === 'refused' && obs.command === 'download')
      return s.endRun('FAILED', `download refused by the update agent: ${obs.message}`);
    if (obs.kind !== 'update') return;
    const u = obs.update;
    const ours = u.version === s.run.version;
    if (ours && (u.state === UpdateState.DOWNLOADING || u.state === UpdateState.DOWNLOADED))
      s.run.downloadSince = Math.max(s.run.downloadSince ?? 0, u.since);
    // The abort of a superseded run of the same version, seen after this run's download began.
    if (ours && u.state === UpdateState.FAILED && u.since < (s.run.downloadSince ?? 0)) return;
    if (ours && u.state === UpdateState.DOWNLOADED) {
      s.run.downloadMs = s.now - s.run.phaseAt;
      s.run.phaseAt = s.now;
      s.moveTo('WAITING_WINDOW', 'staged; waiting for a maintenance window');
      return s.wake(s.now);
    }
    if (ours && u.state === UpdateState.DOWNLOADING) return s.wake(s.now + s.policy.statusPollMs);
    if (ours && u.state === UpdateState.FAILED)
      return s.endRun('FAILED', `download failed: ${describeUpdate(u)}`);
    const d = s.next.runDesired;
    if (d) s.askAgain({ kind: 'download', manifest: d.manifest });
  },

  WAITING_WINDOW: (s, obs) => {
    // A desired update the run adopted (other windows) is looked at at once, like a wake-up.
    if (obs.kind === 'started' || obs.kind === 'timer' || obs.kind === 'desired') return s.tryInstall();
    if (obs.kind !== 'lease') return;
    if (!obs.granted) {
      s.setDetail(obs.reason);
      return s.wake(
        Math.min(s.next.window?.end ?? Infinity, obs.retryAt ?? Infinity, s.now + s.policy.leaseRetryMs),
      );
    }
    const d = s.desiredOfRun();
    if (!d) return;
    s.run.lease = { group: d.rolloutGroup, slot: obs.slot };
    const decision = s.windowDecision(d);
    if (decision.action === 'install') return s.beginInstall(d, decision.window);
    // The window closed while the lease was taken: give it back, wait for the next.
    s.effects.push({ kind: 'release-lease', group: d.rolloutGroup, slot: obs.slot });
    s.run.lease = undefined;
    s.waitFor(decision);
  },

  INSTALLING: (s, obs) => {
    if (obs.kind === 'started' || obs.kind === 'timer') return s.poll();
    if (obs.kind === 'refused' && obs.command === 'install')
      return s.endRun('FAILED', `install refused: ${obs.message}`);
    if (obs.kind !== 'update') return;
    const u = obs.update;
    if (u.version === s.run.version && u.state === UpdateState.INSTALLED) {
      // Persisted before the reboot: after it, the new process knows a reboot was under way.
      s.moveTo('REBOOTING', 'rebooting into the new slot');
      return s.ask({ kind: 'reboot' });
    }
    if (u.state === UpdateState.FAILED) return s.endRun('FAILED', `install failed: ${describeUpdate(u)}`);
    if (u.state === UpdateState.DOWNLOADED) return s.askAgain({ kind: 'install' });
    s.wake(s.now + s.policy.statusPollMs);
  },

  REBOOTING: (s, obs) => {
    if (s.run.judgingOldSlot) return s.judgeOldSlot(obs, '');
    if (obs.kind === 'started' || obs.kind === 'timer') return s.poll();
    if (obs.kind !== 'update') return;
    const u = obs.update;
    switch (u.state) {
      case UpdateState.VERIFYING:
        s.run.installMs = s.now - s.run.phaseAt;
        s.run.phaseAt = s.now;
        s.moveTo('VERIFYING', 'booted the new slot; health trial running');
        s.renewLease();
        return s.trialRound('new-slot', true);
      case UpdateState.ROLLED_BACK:
        // The boot loader fell back on its own: that was this run's one fallback.
        s.run.installMs = s.now - s.run.phaseAt;
        s.run.reason = `the new slot did not boot (${describeUpdate(u)})`;
        s.run.judgingOldSlot = true;
        return s.trialRound('old-slot', true);
      case UpdateState.INSTALLED:
        // The machine did not reboot (the update agent says so): ask again.
        return s.askAgain({ kind: 'reboot' });
      case UpdateState.FAILED:
        return s.endRun('FAILED', `reboot failed: ${describeUpdate(u)}`);
      default:
        return s.wake(s.now + s.policy.statusPollMs);
    }
  },

  VERIFYING: (s, obs) => {
    const passed = s.run.passed;
    switch (obs.kind) {
      case 'started':
        s.poll();
        if (passed === undefined) s.trialRound('new-slot', true);
        return;
      case 'timer':
        if (passed === undefined) return s.trialRound('new-slot', false);
        return s.askAgain({ kind: 'commit' });
      case 'health': {
        if (obs.target !== 'new-slot' || passed !== undefined) return;
        const d = s.desiredOfRun();
        const checks = d?.checks ?? [];
        const verdict = judgeTrial({
          elapsedMs: obs.elapsedMs,
          deadlineMs: d?.deadlineMs ?? DEFAULT_DEADLINE_MS,
          nodeHealthy: obs.nodeHealthy,
          nodeReasons: obs.nodeReasons,
          checks,
          results: obs.results,
          offNodeCounts: s.policy.offNodeChecksCount,
        });
        if (verdict.verdict === 'pending') return s.wake(s.now + s.policy.trialPollMs);
        s.run.verifyMs = s.now - s.run.phaseAt;
        if (verdict.verdict === 'pass') {
          const warn = verdict.warnings.length ? ` (warnings: ${verdict.warnings.join('; ')})` : '';
          s.run.passed = `health trial passed${warn}`;
          return s.ask({ kind: 'commit' });
        }
        const reason = verdict.reasons.join('; ');
        s.run.reason = `health trial failed: ${reason}`;
        // Persisted before the rollback: its reboot ends this process.
        s.run.rollbackAt = s.now;
        s.moveTo('ROLLING_BACK', s.run.reason);
        return s.ask({ kind: 'rollback', reason: FailureReason.HEALTH, detail: reason.slice(0, 1000) });
      }
      case 'update': {
        const u = obs.update;
        if (u.state === UpdateState.COMMITTED && u.version === s.run.version)
          return s.endRun('COMMITTED', passed ?? 'health trial passed');
        if (u.state === UpdateState.ROLLED_BACK && u.version === s.run.version) {
          // The update agent found the node on the previous slot (e.g. at commit): judge that slot.
          s.run.reason = `the node fell back to the previous slot (${describeUpdate(u)})`;
          s.run.rollbackAt = 0;
          s.moveTo('ROLLING_BACK', s.run.reason);
          s.run.judgingOldSlot = true;
          return s.trialRound('old-slot', true);
        }
        return;
      }
      default:
        return;
    }
  },

  ROLLING_BACK: (s, obs) => {
    if (s.run.judgingOldSlot) return s.judgeOldSlot(obs, 'after the rollback ');
    if (obs.kind === 'started' || obs.kind === 'timer') return s.poll();
    if (obs.kind === 'refused' && obs.command === 'rollback')
      return s.endRun('HALTED', `${s.run.reason}; the rollback cannot finish: ${obs.message}`);
    if (obs.kind !== 'update') return;
    const u = obs.update;
    // Unfinished: the request did not take (VERIFYING: a restart in between), or the update agent
    // recorded the rollback but the node still runs the new slot (its reboot did not happen). Ask
    // again; the update agent bounds its reboots and says when it gives up.
    const stillOnNewSlot =
      u.state === UpdateState.ROLLED_BACK && u.targetSlot !== '' && u.activeSlot === u.targetSlot;
    if (u.state === UpdateState.VERIFYING || stillOnNewSlot)
      return s.askAgain({ kind: 'rollback', reason: FailureReason.HEALTH, detail: s.run.reason });
    // The update agent says ROLLED_BACK before its reboot: the old slot is judged only once it runs.
    const rebooted = obs.bootedAt === undefined || obs.bootedAt >= (s.run.rollbackAt ?? 0);
    if (u.state !== UpdateState.ROLLED_BACK || !rebooted) return s.wake(s.now + s.policy.statusPollMs);
    s.run.judgingOldSlot = true;
    s.trialRound('old-slot', true);
  },
};

/** One decision under construction: the next record (copied), its effects and the helpers. */
class Step {
  readonly next: OrchestratorRecord;
  readonly effects: Effect[] = [];

  constructor(
    readonly record: OrchestratorRecord,
    readonly now: number,
    readonly policy: DecidePolicy,
  ) {
    this.next = { ...record, run: record.run && { ...record.run } };
  }

  /** The decision; the very record it was given when nothing in it changed (nothing to save). */
  done(): Decision {
    const next = unchanged(this.record, this.next) ? this.record : this.next;
    return { next, effects: this.effects };
  }

  /** The run under way (every state but IDLE has one; a record without is a bug, loudly). */
  get run(): RunRecord {
    if (!this.next.run) throw new Error(`state ${this.next.state} without a run`);
    return this.next.run;
  }

  desiredOfRun(): Desired | undefined {
    return this.next.runDesired ?? this.next.desired;
  }

  moveTo(to: State, detail: string): void {
    this.next.state = to;
    this.next.since = this.now;
    this.next.detail = detail;
  }

  setDetail(detail: string): void {
    this.next.detail = detail;
  }

  wake(at: number): void {
    this.effects.push({ kind: 'wake', at });
  }

  poll(): void {
    this.effects.push({ kind: 'poll-update' });
    this.wake(this.now + this.policy.statusPollMs);
  }

  /** Asks the update agent, and looks again after a poll interval if no event came. */
  ask(effect: Effect): void {
    this.run.askedAt = this.now;
    this.effects.push(effect);
    this.wake(this.now + this.policy.statusPollMs);
  }

  /** Asks again, but not sooner than a poll interval after the last request. */
  askAgain(effect: Effect): void {
    const due = (this.run.askedAt ?? 0) + this.policy.statusPollMs;
    if (this.now < due) return this.wake(due);
    this.ask(effect);
  }

  trialRound(target: TrialTarget, fresh: boolean): void {
    const checks = target === 'new-slot' ? [...(this.desiredOfRun()?.checks ?? [])] : [];
    this.effects.push({ kind: 'health-check', target, checks, fresh });
  }

  /**
   * A changed desired update replaces the run (or starts one), or — same version and retry, other
   * windows or policy — the run adopts it and keeps its download. Only before anything is written to a
   * slot. True when it started a run.
   */
  replaceRun(): boolean {
    const d = this.next.desired;
    if (!d) return false;
    if (shouldStartRun({ version: d.manifest.version, retry: d.retry }, this.next.run)) {
      this.startRun(d);
      return true;
    }
    const state = this.next.state;
    if ((state === 'DOWNLOADING' || state === 'WAITING_WINDOW') && !sameDesired(d, this.next.runDesired)) {
      this.next.runDesired = d;
      this.next.window = undefined;
      this.setDetail('maintenance windows or health policy changed; the run adopts them');
    }
    return false;
  }

  private startRun(d: Desired): void {
    const state = this.next.state;
    if (this.next.run && !RUN_ENDS.includes(state) && state !== 'IDLE') {
      this.finishRecord(state, `superseded by ${d.manifest.version} retry ${d.retry}`);
      this.releaseLease();
      const u = this.next.update;
      if (u && (u.state === UpdateState.DOWNLOADING || u.state === UpdateState.DOWNLOADED))
        this.effects.push({ kind: 'abort' });
    }
    this.next.run = {
      version: d.manifest.version,
      retry: d.retry,
      startedAt: this.now,
      windowsWaited: 0,
      downloadMs: 0,
      waitMs: 0,
      installMs: 0,
      verifyMs: 0,
      reason: '',
      phaseAt: this.now,
    };
    this.next.runDesired = d;
    this.next.window = undefined;
    this.moveTo('DOWNLOADING', `downloading ${d.manifest.version}`);
    this.ask({ kind: 'download', manifest: d.manifest });
  }

  windowDecision(d: Desired): InstallDecision {
    const p = this.policy;
    return installDecision(
      this.now,
      d.windows,
      p.nodeId,
      p.expectedUpdateMs,
      p.minimumWindowLeftMs,
      p.jitterFraction,
    );
  }

  /** In WAITING_WINDOW: install if a window with time left is open (after taking a lease). */
  tryInstall(): void {
    const d = this.desiredOfRun();
    if (!d) return;
    const decision = this.windowDecision(d);
    if (decision.action === 'wait') return this.waitFor(decision);
    if (d.maxParallel > 0 && d.rolloutGroup) {
      this.next.window = decision.window;
      this.effects.push({
        kind: 'acquire-lease',
        group: d.rolloutGroup,
        max: d.maxParallel,
        version: this.run.version,
        ttlMs: this.leaseTtlMs(),
      });
      return this.wake(this.now + this.policy.leaseRetryMs);
    }
    this.beginInstall(d, decision.window);
  }

  waitFor(decision: Extract<InstallDecision, { action: 'wait' }>): void {
    this.next.window = decision.window;
    this.setDetail(decision.reason);
    if (decision.until !== undefined) this.wake(decision.until);
  }

  beginInstall(d: Desired, window: { start: number; end: number }): void {
    const run = this.run;
    run.windowsWaited = nextWindows(d.windows, run.phaseAt, 1000).filter(
      (w) => w.start < window.start && w.end <= this.now,
    ).length;
    run.waitMs = this.now - run.phaseAt;
    run.phaseAt = this.now;
    this.next.window = window;
    this.moveTo('INSTALLING', `installing in the window until ${new Date(window.end).toISOString()}`);
    this.ask({ kind: 'install' });
  }

  /** The previous slot after a fallback: node health only, within the run's deadline. */
  judgeOldSlot(obs: Observation, when: string): void {
    if (obs.kind === 'started' || obs.kind === 'timer')
      return this.trialRound('old-slot', obs.kind === 'started');
    if (obs.kind !== 'health' || obs.target !== 'old-slot') return;
    const verdict = judgeTrial({
      elapsedMs: obs.elapsedMs,
      deadlineMs: this.desiredOfRun()?.deadlineMs ?? DEFAULT_DEADLINE_MS,
      nodeHealthy: obs.nodeHealthy,
      nodeReasons: obs.nodeReasons,
      checks: [],
      results: [],
    });
    if (verdict.verdict === 'pending') return this.wake(this.now + this.policy.trialPollMs);
    if (verdict.verdict === 'pass') return this.endRun('ROLLED_BACK', this.run.reason);
    const why = `the previous slot is unhealthy too: ${verdict.reasons.join('; ')}`;
    this.endRun('HALTED', `${this.run.reason}; ${when}${why}`);
  }

  endRun(to: State, reason: string): void {
    this.finishRecord(to, reason);
    this.releaseLease();
    this.moveTo(to, reason);
    this.effects.push({ kind: 'record-history' });
    // A desired update that came during the run starts the next one.
    const d = this.next.desired;
    if (d && shouldStartRun({ version: d.manifest.version, retry: d.retry }, this.next.run))
      this.wake(this.now);
  }

  private finishRecord(result: State, reason: string): void {
    const run = this.run;
    run.result = result;
    run.reason = reason;
    run.endedAt = this.now;
    this.next.history = [...this.next.history, { ...run }].slice(-this.policy.historyLength);
  }

  private releaseLease(): void {
    const lease = this.next.run?.lease;
    if (lease) this.effects.push({ kind: 'release-lease', group: lease.group, slot: lease.slot });
  }

  renewLease(): void {
    const lease = this.run.lease;
    const d = this.desiredOfRun();
    if (!lease || !d) return;
    this.effects.push({
      kind: 'renew-lease',
      group: lease.group,
      max: d.maxParallel,
      version: this.run.version,
      ttlMs: this.leaseTtlMs(),
    });
  }

  /** Long enough for install + reboot + trial, twice over; renewed when the trial starts. */
  private leaseTtlMs(): number {
    return 2 * this.policy.expectedUpdateMs;
  }
}

function unchanged(a: OrchestratorRecord, b: OrchestratorRecord): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof OrchestratorRecord)[]);
  for (const k of keys) {
    if (a[k] === b[k]) continue;
    if (k === 'run' || k === 'update' || k === 'window') {
      if (!shallowEqual(a[k], b[k])) return false;
    } else return false;
  }
  return true;
}

function shallowEqual(a: object | undefined, b: object | undefined): boolean {
  if (!a || !b) return a === b;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  return [...keys].every((k) => x[k] === y[k]);
}

export function describeUpdate(u: Pick<UpdateView, 'reason' | 'detail'>): string {
  return `${FailureReason[u.reason] ?? 'UNSPECIFIED'}${u.detail ? `: ${u.detail}` : ''}`;
}

/** Same desired update, field by field (the manifest's uint64 size is a bigint: not JSON). */
export function sameDesired(a: Desired | undefined, b: Desired | undefined): boolean {
  if (!a || !b) return a === b;
  const text = (d: Desired) =>
    JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return text(a) === text(b);
}
