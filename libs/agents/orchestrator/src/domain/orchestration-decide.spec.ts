/**
 * The orchestrator's step policy as a table: state × observation → next state and effects (Mender's
 * state table, Zincati's asserted transitions). Every row, and every state × observation pair of the
 * sweep at the end, produces only transitions the table in orchestration-state.ts allows.
 */
import { describe, expect, it } from '@jest/globals';
import { decodeJsonText, DesiredUpdateSchema, FailureReason, UpdateState } from '@outpost/contracts';
import { validateDesired, type Desired } from '@outpost/update-domain';
import {
  decide,
  sameDesired,
  type DecidePolicy,
  type Decision,
  type Effect,
  type Observation,
} from './orchestration-decide.js';
import type { OrchestratorRecord, RunRecord, UpdateView } from './orchestration-record.js';
import { canTransition, STATES, type State } from './orchestration-state.js';

const MIN = 60_000;
const NOW = Date.UTC(2026, 0, 10, 12, 0);
const utc = (ms: number) => new Date(ms).toISOString().slice(0, 16);

const policy: DecidePolicy = {
  nodeId: 'n1',
  expectedUpdateMs: 30 * MIN,
  minimumWindowLeftMs: 0,
  jitterFraction: 0,
  statusPollMs: 60_000,
  trialPollMs: 2_000,
  leaseRetryMs: 30_000,
  offNodeChecksCount: false,
  historyLength: 3,
};

function desired(
  version: string,
  over: { retry?: number; from?: number; to?: number; maxParallel?: number; checks?: boolean } = {},
): Desired {
  const d = validateDesired(
    decodeJsonText(
      DesiredUpdateSchema,
      JSON.stringify({
        manifest: {
          version,
          imageUrl: 'http://updates.example/os.img',
          size: '10',
          sha256: 'a'.repeat(64),
          signature: 'c2ln',
        },
        windows: [
          {
            timeZone: 'UTC',
            single: { start: utc(over.from ?? NOW - 60 * MIN), end: utc(over.to ?? NOW + 180 * MIN) },
          },
        ],
        healthPolicy: {
          deadlineSeconds: 60,
          checks: over.checks
            ? [{ name: 'app', command: ['/bin/true'], required: true, timeoutSeconds: 5 }]
            : [],
        },
        retry: over.retry ?? 0,
        rolloutGroup: over.maxParallel ? 'canary' : '',
        maxParallel: over.maxParallel ?? 0,
      }),
    ),
  );
  if (typeof d === 'string') throw new Error(d);
  return d;
}

const D1 = desired('1.0.0');
const D1_CLOSED = desired('1.0.0', { from: NOW + 120 * MIN, to: NOW + 300 * MIN });
const D1_LEASED = desired('1.0.0', { maxParallel: 1 });
const D1_CHECKS = desired('1.0.0', { checks: true });
const D1_RETRY = desired('1.0.0', { retry: 1 });
const D2 = desired('2.0.0');

const run = (over: Partial<RunRecord> = {}): RunRecord => ({
  version: '1.0.0',
  retry: 0,
  startedAt: NOW - 10 * MIN,
  windowsWaited: 0,
  downloadMs: 0,
  waitMs: 0,
  installMs: 0,
  verifyMs: 0,
  reason: '',
  phaseAt: NOW - 5 * MIN,
  ...over,
});

function rec(
  state: State,
  over: Partial<OrchestratorRecord> = {},
  runOver?: Partial<RunRecord>,
): OrchestratorRecord {
  return {
    state,
    since: NOW - MIN,
    detail: '',
    history: [],
    desired: D1,
    runDesired: D1,
    run: state === 'IDLE' ? undefined : run(runOver),
    ...over,
  };
}

const upd = (state: UpdateState, over: Partial<UpdateView> = {}): Observation => ({
  kind: 'update',
  update: {
    state,
    version: '1.0.0',
    activeSlot: 'a',
    targetSlot: 'b',
    reason: FailureReason.UNSPECIFIED,
    detail: '',
    since: NOW - 1_000,
    ...over,
  },
});
const health = (
  healthy: boolean,
  target: 'new-slot' | 'old-slot' = 'new-slot',
  elapsedMs = 0,
): Observation => ({
  kind: 'health',
  target,
  elapsedMs,
  nodeHealthy: healthy,
  nodeReasons: healthy ? [] : ['agent update not ready'],
  results: [],
});
const TIMER: Observation = { kind: 'timer' };
const STARTED: Observation = { kind: 'started' };

/** The effects' kinds, in order, with the wake-up time relative to NOW. */
function kinds(effects: Effect[]): string[] {
  return effects.map((e) => (e.kind === 'wake' ? `wake+${(e.at - NOW) / 1000}s` : e.kind));
}

function expectLegal(from: OrchestratorRecord, d: Decision): void {
  const moved = d.next.state !== from.state || d.next.since !== from.since;
  if (moved)
    expect([from.state, d.next.state, canTransition(from.state, d.next.state)]).toEqual([
      from.state,
      d.next.state,
      true,
    ]);
}

interface Row {
  name: string;
  record: OrchestratorRecord;
  obs: Observation;
  state: State;
  effects: string[];
  detail?: RegExp;
  check?: (d: Decision) => void;
}

const rows: Row[] = [
  // ---- IDLE and the ends of a run: a desired update starts a run ---------------------------------
  {
    name: 'IDLE × desired',
    record: rec('IDLE', { desired: undefined, runDesired: undefined }),
    obs: { kind: 'desired', desired: D1 },
    state: 'DOWNLOADING',
    effects: ['download', 'wake+60s'],
    detail: /downloading 1\.0\.0/,
  },
  {
    name: 'IDLE × desired rejected',
    record: rec('IDLE', { desired: undefined }),
    obs: { kind: 'desired-rejected', reason: 'windows is empty' },
    state: 'IDLE',
    effects: [],
    check: (d) => expect(d.next.rejected).toBe('windows is empty'),
  },
  {
    name: 'IDLE × started with a desired update kept',
    record: rec('IDLE'),
    obs: STARTED,
    state: 'DOWNLOADING',
    effects: ['download', 'wake+60s'],
  },
  {
    name: 'IDLE × started without one',
    record: rec('IDLE', { desired: undefined }),
    obs: STARTED,
    state: 'IDLE',
    effects: [],
  },
  {
    name: 'IDLE × update status',
    record: rec('IDLE', { desired: undefined }),
    obs: upd(UpdateState.IDLE),
    state: 'IDLE',
    effects: [],
  },
  {
    name: 'COMMITTED × same desired again (no rerun)',
    record: rec('COMMITTED'),
    obs: { kind: 'desired', desired: D1 },
    state: 'COMMITTED',
    effects: [],
  },
  {
    name: 'ROLLED_BACK × same version, same retry (not retried)',
    record: rec('ROLLED_BACK'),
    obs: { kind: 'desired', desired: D1 },
    state: 'ROLLED_BACK',
    effects: [],
  },
  {
    name: 'ROLLED_BACK × retry bumped',
    record: rec('ROLLED_BACK'),
    obs: { kind: 'desired', desired: D1_RETRY },
    state: 'DOWNLOADING',
    effects: ['download', 'wake+60s'],
  },
  {
    name: 'HALTED × another version',
    record: rec('HALTED'),
    obs: { kind: 'desired', desired: D2 },
    state: 'DOWNLOADING',
    effects: ['download', 'wake+60s'],
  },
  {
    name: 'FAILED × timer with a newer desired (came during the run)',
    record: rec('FAILED', { desired: D2 }),
    obs: TIMER,
    state: 'DOWNLOADING',
    effects: ['download', 'wake+60s'],
  },
  {
    name: 'COMMITTED × update status',
    record: rec('COMMITTED'),
    obs: upd(UpdateState.COMMITTED),
    state: 'COMMITTED',
    effects: [],
  },

  // ---- DOWNLOADING ------------------------------------------------------------------------------
  {
    name: 'DOWNLOADING × started',
    record: rec('DOWNLOADING'),
    obs: STARTED,
    state: 'DOWNLOADING',
    effects: ['poll-update', 'wake+60s'],
  },
  {
    name: 'DOWNLOADING × timer (safety poll)',
    record: rec('DOWNLOADING'),
    obs: TIMER,
    state: 'DOWNLOADING',
    effects: ['poll-update', 'wake+60s'],
  },
  {
    name: 'DOWNLOADING × update DOWNLOADING',
    record: rec('DOWNLOADING'),
    obs: upd(UpdateState.DOWNLOADING),
    state: 'DOWNLOADING',
    effects: ['wake+60s'],
  },
  {
    name: 'DOWNLOADING × update DOWNLOADED',
    record: rec('DOWNLOADING'),
    obs: upd(UpdateState.DOWNLOADED),
    state: 'WAITING_WINDOW',
    effects: ['wake+0s'],
    check: (d) => expect(d.next.run?.downloadMs).toBe(5 * MIN),
  },
  {
    name: 'DOWNLOADING × update FAILED (ours)',
    record: rec('DOWNLOADING'),
    obs: upd(UpdateState.FAILED, { reason: FailureReason.CHECKSUM, detail: 'sha256 differs' }),
    state: 'FAILED',
    effects: ['record-history'],
    detail: /download failed: CHECKSUM: sha256 differs/,
  },
  {
    name: 'DOWNLOADING × update FAILED of another version: ask again',
    record: rec('DOWNLOADING', {}, { askedAt: NOW - 2 * MIN }),
    obs: upd(UpdateState.FAILED, { version: '0.9.0' }),
    state: 'DOWNLOADING',
    effects: ['download', 'wake+60s'],
  },
  {
    name: 'DOWNLOADING × the abort of the superseded run (same version), seen after this download began',
    record: rec('DOWNLOADING', {}, { downloadSince: NOW - 500 }),
    obs: upd(UpdateState.FAILED, { reason: FailureReason.ABORTED, since: NOW - 600 }),
    state: 'DOWNLOADING',
    effects: [],
  },
  {
    name: 'DOWNLOADING × update DOWNLOADING: its start noted',
    record: rec('DOWNLOADING'),
    obs: upd(UpdateState.DOWNLOADING, { since: NOW - 500 }),
    state: 'DOWNLOADING',
    effects: ['wake+60s'],
    check: (d) => expect(d.next.run?.downloadSince).toBe(NOW - 500),
  },
  {
    name: 'DOWNLOADING × update IDLE right after asking: not again yet',
    record: rec('DOWNLOADING', {}, { askedAt: NOW - 10_000 }),
    obs: upd(UpdateState.IDLE, { version: '' }),
    state: 'DOWNLOADING',
    effects: ['wake+50s'],
  },
  {
    name: 'DOWNLOADING × download refused',
    record: rec('DOWNLOADING'),
    obs: { kind: 'refused', command: 'download', message: 'manifest refused' },
    state: 'FAILED',
    effects: ['record-history'],
    detail: /download refused by the update agent: manifest refused/,
  },
  {
    name: 'DOWNLOADING × another version desired: superseded, abort, download',
    record: rec('DOWNLOADING', {
      update: {
        state: UpdateState.DOWNLOADING,
        version: '1.0.0',
        activeSlot: 'a',
        targetSlot: 'b',
        reason: 0,
        detail: '',
        since: 0,
      },
    }),
    obs: { kind: 'desired', desired: D2 },
    state: 'DOWNLOADING',
    effects: ['abort', 'download', 'wake+60s'],
    check: (d) =>
      expect(d.next.history.at(-1)).toMatchObject({
        version: '1.0.0',
        result: 'DOWNLOADING',
        reason: 'superseded by 2.0.0 retry 0',
      }),
  },
  {
    name: 'DOWNLOADING × same run, other windows: adopted',
    record: rec('DOWNLOADING'),
    obs: { kind: 'desired', desired: D1_CLOSED },
    state: 'DOWNLOADING',
    effects: [],
    detail: /the run adopts them/,
    check: (d) => expect(d.next.runDesired).toBe(D1_CLOSED),
  },
  {
    name: 'DOWNLOADING × health (not expected)',
    record: rec('DOWNLOADING'),
    obs: health(true),
    state: 'DOWNLOADING',
    effects: [],
  },

  // ---- WAITING_WINDOW ---------------------------------------------------------------------------
  {
    name: 'WAITING_WINDOW × timer, window open',
    record: rec('WAITING_WINDOW'),
    obs: TIMER,
    state: 'INSTALLING',
    effects: ['install', 'wake+60s'],
    detail: /installing in the window until/,
    check: (d) => expect(d.next.run?.waitMs).toBe(5 * MIN),
  },
  {
    name: 'WAITING_WINDOW × timer, window closed',
    record: rec('WAITING_WINDOW', { desired: D1_CLOSED, runDesired: D1_CLOSED }),
    obs: TIMER,
    state: 'WAITING_WINDOW',
    effects: ['wake+7200s'],
    detail: /outside every maintenance window/,
  },
  {
    name: 'WAITING_WINDOW × started, window open',
    record: rec('WAITING_WINDOW'),
    obs: STARTED,
    state: 'INSTALLING',
    effects: ['install', 'wake+60s'],
  },
  {
    name: 'WAITING_WINDOW × timer, window open, rollout group: lease first',
    record: rec('WAITING_WINDOW', { desired: D1_LEASED, runDesired: D1_LEASED }),
    obs: TIMER,
    state: 'WAITING_WINDOW',
    effects: ['acquire-lease', 'wake+30s'],
  },
  {
    name: 'WAITING_WINDOW × lease granted',
    record: rec('WAITING_WINDOW', { desired: D1_LEASED, runDesired: D1_LEASED }),
    obs: { kind: 'lease', granted: true, slot: 0 },
    state: 'INSTALLING',
    effects: ['install', 'wake+60s'],
    check: (d) => expect(d.next.run?.lease).toEqual({ group: 'canary', slot: 0 }),
  },
  {
    name: 'WAITING_WINDOW × lease refused',
    record: rec('WAITING_WINDOW', { desired: D1_LEASED, runDesired: D1_LEASED }),
    obs: { kind: 'lease', granted: false, reason: 'rollout group canary is full', retryAt: NOW + 10_000 },
    state: 'WAITING_WINDOW',
    effects: ['wake+10s'],
    detail: /is full/,
  },
  {
    name: 'WAITING_WINDOW × lease granted after the window closed: given back',
    record: rec('WAITING_WINDOW', {
      desired: D1_CLOSED,
      runDesired: { ...D1_CLOSED, maxParallel: 1, rolloutGroup: 'canary' },
    }),
    obs: { kind: 'lease', granted: true, slot: 0 },
    state: 'WAITING_WINDOW',
    effects: ['release-lease', 'wake+7200s'],
  },
  {
    name: 'WAITING_WINDOW × new version desired',
    record: rec('WAITING_WINDOW', {
      update: {
        state: UpdateState.DOWNLOADED,
        version: '1.0.0',
        activeSlot: 'a',
        targetSlot: 'b',
        reason: 0,
        detail: '',
        since: 0,
      },
    }),
    obs: { kind: 'desired', desired: D2 },
    state: 'DOWNLOADING',
    effects: ['abort', 'download', 'wake+60s'],
  },
  {
    name: 'WAITING_WINDOW × same run, window moved to now: adopted, installs at once',
    record: rec('WAITING_WINDOW', { desired: D1_CLOSED, runDesired: D1_CLOSED }),
    obs: { kind: 'desired', desired: D1 },
    state: 'INSTALLING',
    effects: ['install', 'wake+60s'],
    check: (d) => expect(d.next.runDesired).toBe(D1),
  },
  {
    name: 'WAITING_WINDOW × update status',
    record: rec('WAITING_WINDOW'),
    obs: upd(UpdateState.DOWNLOADED),
    state: 'WAITING_WINDOW',
    effects: [],
  },

  // ---- INSTALLING -------------------------------------------------------------------------------
  {
    name: 'INSTALLING × update INSTALLED: reboot, persisted first',
    record: rec('INSTALLING'),
    obs: upd(UpdateState.INSTALLED),
    state: 'REBOOTING',
    effects: ['reboot', 'wake+60s'],
    check: (d) => expect(d.next.run?.askedAt).toBe(NOW),
  },
  {
    name: 'INSTALLING × update INSTALLING',
    record: rec('INSTALLING'),
    obs: upd(UpdateState.INSTALLING),
    state: 'INSTALLING',
    effects: ['wake+60s'],
  },
  {
    name: 'INSTALLING × update FAILED',
    record: rec('INSTALLING'),
    obs: upd(UpdateState.FAILED, { reason: FailureReason.WRITE, detail: 'EIO' }),
    state: 'FAILED',
    effects: ['record-history'],
    detail: /install failed: WRITE: EIO/,
  },
  {
    name: 'INSTALLING × update FAILED, lease held: released',
    record: rec('INSTALLING', {}, { lease: { group: 'canary', slot: 0 } }),
    obs: upd(UpdateState.FAILED),
    state: 'FAILED',
    effects: ['release-lease', 'record-history'],
  },
  {
    name: 'INSTALLING × update still DOWNLOADED: install asked again',
    record: rec('INSTALLING', {}, { askedAt: NOW - 2 * MIN }),
    obs: upd(UpdateState.DOWNLOADED),
    state: 'INSTALLING',
    effects: ['install', 'wake+60s'],
  },
  {
    name: 'INSTALLING × install refused',
    record: rec('INSTALLING'),
    obs: { kind: 'refused', command: 'install', message: 'no download' },
    state: 'FAILED',
    effects: ['record-history'],
    detail: /install refused: no download/,
  },
  {
    name: 'INSTALLING × timer',
    record: rec('INSTALLING'),
    obs: TIMER,
    state: 'INSTALLING',
    effects: ['poll-update', 'wake+60s'],
  },
  {
    name: 'INSTALLING × another version desired: kept for after the run',
    record: rec('INSTALLING'),
    obs: { kind: 'desired', desired: D2 },
    state: 'INSTALLING',
    effects: [],
    check: (d) => expect(d.next.desired).toBe(D2),
  },

  // ---- REBOOTING --------------------------------------------------------------------------------
  {
    name: 'REBOOTING × started: read the update agent',
    record: rec('REBOOTING'),
    obs: STARTED,
    state: 'REBOOTING',
    effects: ['poll-update', 'wake+60s'],
  },
  {
    name: 'REBOOTING × update VERIFYING: trial',
    record: rec('REBOOTING', { desired: D1_CHECKS, runDesired: D1_CHECKS }),
    obs: upd(UpdateState.VERIFYING, { activeSlot: 'b' }),
    state: 'VERIFYING',
    effects: ['health-check'],
    check: (d) =>
      expect(d.effects[0]).toMatchObject({ target: 'new-slot', fresh: true, checks: [{ name: 'app' }] }),
  },
  {
    name: 'REBOOTING × update VERIFYING, lease held: renewed',
    record: rec(
      'REBOOTING',
      { desired: D1_LEASED, runDesired: D1_LEASED },
      { lease: { group: 'canary', slot: 0 } },
    ),
    obs: upd(UpdateState.VERIFYING),
    state: 'VERIFYING',
    effects: ['renew-lease', 'health-check'],
  },
  {
    name: 'REBOOTING × update ROLLED_BACK (loader fell back): judge the old slot',
    record: rec('REBOOTING'),
    obs: upd(UpdateState.ROLLED_BACK, { reason: FailureReason.BOOT_FALLBACK }),
    state: 'REBOOTING',
    effects: ['health-check'],
    check: (d) =>
      expect(d.next.run).toMatchObject({
        judgingOldSlot: true,
        reason: 'the new slot did not boot (BOOT_FALLBACK)',
      }),
  },
  {
    name: 'REBOOTING, old slot judged × healthy',
    record: rec(
      'REBOOTING',
      {},
      { judgingOldSlot: true, reason: 'the new slot did not boot (BOOT_FALLBACK)' },
    ),
    obs: health(true, 'old-slot'),
    state: 'ROLLED_BACK',
    effects: ['record-history'],
    detail: /^the new slot did not boot \(BOOT_FALLBACK\)$/,
  },
  {
    name: 'REBOOTING, old slot judged × unhealthy past the deadline',
    record: rec(
      'REBOOTING',
      {},
      { judgingOldSlot: true, reason: 'the new slot did not boot (BOOT_FALLBACK)' },
    ),
    obs: health(false, 'old-slot', 61_000),
    state: 'HALTED',
    effects: ['record-history'],
    detail: /^the new slot did not boot \(BOOT_FALLBACK\); the previous slot is unhealthy too: deadline/,
  },
  {
    name: 'REBOOTING, old slot judged × unhealthy within the deadline',
    record: rec('REBOOTING', {}, { judgingOldSlot: true }),
    obs: health(false, 'old-slot', 1_000),
    state: 'REBOOTING',
    effects: ['wake+2s'],
  },
  {
    name: 'REBOOTING, old slot judged × timer: next round',
    record: rec('REBOOTING', {}, { judgingOldSlot: true }),
    obs: TIMER,
    state: 'REBOOTING',
    effects: ['health-check'],
  },
  {
    name: 'REBOOTING × update INSTALLED (no reboot happened): asked again',
    record: rec('REBOOTING', {}, { askedAt: NOW - 2 * MIN }),
    obs: upd(UpdateState.INSTALLED),
    state: 'REBOOTING',
    effects: ['reboot', 'wake+60s'],
  },
  {
    name: 'REBOOTING × a late INSTALLED event right after asking: not twice',
    record: rec('REBOOTING', {}, { askedAt: NOW - 1_000 }),
    obs: upd(UpdateState.INSTALLED),
    state: 'REBOOTING',
    effects: ['wake+59s'],
  },
  {
    name: 'REBOOTING × update FAILED',
    record: rec('REBOOTING'),
    obs: upd(UpdateState.FAILED, { reason: FailureReason.BOOT_CONFIG }),
    state: 'FAILED',
    effects: ['record-history'],
    detail: /reboot failed: BOOT_CONFIG/,
  },
  {
    name: 'REBOOTING × update REBOOTING',
    record: rec('REBOOTING'),
    obs: upd(UpdateState.REBOOTING),
    state: 'REBOOTING',
    effects: ['wake+60s'],
  },

  // ---- VERIFYING --------------------------------------------------------------------------------
  {
    name: 'VERIFYING × started: the trial starts over',
    record: rec('VERIFYING'),
    obs: STARTED,
    state: 'VERIFYING',
    effects: ['poll-update', 'wake+60s', 'health-check'],
  },
  {
    name: 'VERIFYING × healthy: commit asked',
    record: rec('VERIFYING'),
    obs: health(true),
    state: 'VERIFYING',
    effects: ['commit', 'wake+60s'],
    check: (d) => expect(d.next.run?.passed).toBe('health trial passed'),
  },
  {
    name: 'VERIFYING × update COMMITTED after the pass',
    record: rec('VERIFYING', {}, { passed: 'health trial passed' }),
    obs: upd(UpdateState.COMMITTED),
    state: 'COMMITTED',
    effects: ['record-history'],
    detail: /^health trial passed$/,
  },
  {
    name: 'VERIFYING × unhealthy within the deadline',
    record: rec('VERIFYING'),
    obs: health(false, 'new-slot', 1_000),
    state: 'VERIFYING',
    effects: ['wake+2s'],
  },
  {
    name: 'VERIFYING × unhealthy past the deadline: rollback, persisted first',
    record: rec('VERIFYING'),
    obs: health(false, 'new-slot', 60_000),
    state: 'ROLLING_BACK',
    effects: ['rollback', 'wake+60s'],
    detail: /^health trial failed: deadline of 60 s passed; node UNHEALTHY/,
    check: (d) => {
      expect(d.effects[0]).toMatchObject({ reason: FailureReason.HEALTH });
      expect(d.next.run?.rollbackAt).toBe(NOW);
    },
  },
  {
    name: 'VERIFYING × timer: next trial round',
    record: rec('VERIFYING'),
    obs: TIMER,
    state: 'VERIFYING',
    effects: ['health-check'],
    check: (d) => expect(d.effects[0]).toMatchObject({ fresh: false }),
  },
  {
    name: 'VERIFYING, passed × timer: commit asked again',
    record: rec('VERIFYING', {}, { passed: 'health trial passed', askedAt: NOW - 2 * MIN }),
    obs: TIMER,
    state: 'VERIFYING',
    effects: ['commit', 'wake+60s'],
  },
  {
    name: 'VERIFYING × update ROLLED_BACK (fell back on its own): judge the old slot',
    record: rec('VERIFYING'),
    obs: upd(UpdateState.ROLLED_BACK, { activeSlot: 'a' }),
    state: 'ROLLING_BACK',
    effects: ['health-check'],
  },
  {
    name: 'VERIFYING × update VERIFYING',
    record: rec('VERIFYING'),
    obs: upd(UpdateState.VERIFYING),
    state: 'VERIFYING',
    effects: [],
  },

  // ---- ROLLING_BACK -----------------------------------------------------------------------------
  {
    name: 'ROLLING_BACK × started',
    record: rec('ROLLING_BACK', {}, { rollbackAt: NOW - MIN }),
    obs: STARTED,
    state: 'ROLLING_BACK',
    effects: ['poll-update', 'wake+60s'],
  },
  {
    name: 'ROLLING_BACK × update ROLLED_BACK before its reboot: wait',
    record: rec('ROLLING_BACK', {}, { rollbackAt: NOW - MIN }),
    obs: { ...upd(UpdateState.ROLLED_BACK), bootedAt: NOW - 60 * MIN } as Observation,
    state: 'ROLLING_BACK',
    effects: ['wake+60s'],
  },
  {
    name: 'ROLLING_BACK × update ROLLED_BACK after the reboot: judge the old slot',
    record: rec('ROLLING_BACK', {}, { rollbackAt: NOW - MIN }),
    obs: { ...upd(UpdateState.ROLLED_BACK), bootedAt: NOW - 10_000 } as Observation,
    state: 'ROLLING_BACK',
    effects: ['health-check'],
  },
  {
    name: 'ROLLING_BACK × still on the new slot: rollback asked again',
    record: rec(
      'ROLLING_BACK',
      {},
      { rollbackAt: NOW - 2 * MIN, askedAt: NOW - 2 * MIN, reason: 'health trial failed: x' },
    ),
    obs: upd(UpdateState.ROLLED_BACK, { activeSlot: 'b' }),
    state: 'ROLLING_BACK',
    effects: ['rollback', 'wake+60s'],
    // The first request's time stays: its reboot may have happened before this stale status came.
    check: (d) => expect(d.next.run).toMatchObject({ rollbackAt: NOW - 2 * MIN, askedAt: NOW }),
  },
  {
    name: 'ROLLING_BACK × on the old slot, booted after the first request but before a repeated one: judged',
    record: rec('ROLLING_BACK', {}, { rollbackAt: NOW - 2 * MIN, askedAt: NOW - MIN }),
    obs: { ...upd(UpdateState.ROLLED_BACK), bootedAt: NOW - 90_000 } as Observation,
    state: 'ROLLING_BACK',
    effects: ['health-check'],
    check: (d) => expect(d.effects[0]).toMatchObject({ target: 'old-slot', fresh: true, checks: [] }),
  },
  {
    name: 'ROLLING_BACK × update VERIFYING (request lost): asked again',
    record: rec('ROLLING_BACK', {}, { askedAt: NOW - 2 * MIN }),
    obs: upd(UpdateState.VERIFYING),
    state: 'ROLLING_BACK',
    effects: ['rollback', 'wake+60s'],
  },
  {
    name: 'ROLLING_BACK × rollback refused',
    record: rec('ROLLING_BACK', {}, { reason: 'health trial failed: x' }),
    obs: { kind: 'refused', command: 'rollback', message: 'gave up' },
    state: 'HALTED',
    effects: ['record-history'],
    detail: /^health trial failed: x; the rollback cannot finish: gave up$/,
  },
  {
    name: 'ROLLING_BACK, old slot judged × healthy',
    record: rec('ROLLING_BACK', {}, { judgingOldSlot: true, reason: 'health trial failed: x' }),
    obs: health(true, 'old-slot'),
    state: 'ROLLED_BACK',
    effects: ['record-history'],
    detail: /^health trial failed: x$/,
  },
  {
    name: 'ROLLING_BACK, old slot judged × unhealthy',
    record: rec('ROLLING_BACK', {}, { judgingOldSlot: true, reason: 'health trial failed: x' }),
    obs: health(false, 'old-slot', 61_000),
    state: 'HALTED',
    effects: ['record-history'],
    detail: /^health trial failed: x; after the rollback the previous slot is unhealthy too/,
  },
  {
    name: 'ROLLING_BACK × another version desired: kept for after the run',
    record: rec('ROLLING_BACK'),
    obs: { kind: 'desired', desired: D2 },
    state: 'ROLLING_BACK',
    effects: [],
  },
];

describe('decide: the state table', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const d = decide(row.record, row.obs, NOW, policy);
    expectLegal(row.record, d);
    expect(d.next.state).toBe(row.state);
    expect(kinds(d.effects)).toEqual(row.effects);
    if (row.detail) expect(d.next.detail).toMatch(row.detail);
    row.check?.(d);
  });

  it('covers every state', () => {
    const covered = new Set(rows.map((r) => r.record.state));
    expect(STATES.filter((s) => !covered.has(s))).toEqual([]);
  });

  it('answers the very record it was given when nothing changed (nothing to save)', () => {
    const r = rec('WAITING_WINDOW');
    expect(decide(r, upd(UpdateState.DOWNLOADED), NOW, policy).next).not.toBe(r); // the update view is new
    const seen = decide(r, upd(UpdateState.DOWNLOADED), NOW, policy).next;
    expect(decide(seen, upd(UpdateState.DOWNLOADED), NOW, policy).next).toBe(seen);
    expect(decide(rec('COMMITTED'), TIMER, NOW, policy).next.state).toBe('COMMITTED');
    const done = rec('COMMITTED');
    expect(decide(done, TIMER, NOW, policy).next).toBe(done);
  });

  it('never changes the record it is given', () => {
    for (const row of rows) {
      const before = JSON.stringify(row.record, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
      decide(row.record, row.obs, NOW, policy);
      expect(JSON.stringify(row.record, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).toBe(
        before,
      );
    }
  });
});

describe('decide: every state × every observation is legal', () => {
  const observations: [string, Observation][] = [
    ['started', STARTED],
    ['timer', TIMER],
    ['desired same', { kind: 'desired', desired: D1 }],
    ['desired new version', { kind: 'desired', desired: D2 }],
    ['desired other windows', { kind: 'desired', desired: D1_CLOSED }],
    ['desired rejected', { kind: 'desired-rejected', reason: 'bad' }],
    ...[
      UpdateState.IDLE,
      UpdateState.DOWNLOADING,
      UpdateState.DOWNLOADED,
      UpdateState.INSTALLING,
      UpdateState.INSTALLED,
      UpdateState.REBOOTING,
      UpdateState.VERIFYING,
      UpdateState.COMMITTED,
      UpdateState.ROLLED_BACK,
      UpdateState.FAILED,
    ].map((s): [string, Observation] => [`update ${UpdateState[s]}`, upd(s)]),
    ['update ROLLED_BACK still on the new slot', upd(UpdateState.ROLLED_BACK, { activeSlot: 'b' })],
    ...(['download', 'install', 'reboot', 'commit', 'rollback'] as const).map((c): [string, Observation] => [
      `refused ${c}`,
      { kind: 'refused', command: c, message: 'no' },
    ]),
    ['health pass', health(true)],
    ['health fail', health(false, 'new-slot', 120_000)],
    ['old slot pass', health(true, 'old-slot')],
    ['old slot fail', health(false, 'old-slot', 120_000)],
    ['lease granted', { kind: 'lease', granted: true, slot: 0 }],
    ['lease refused', { kind: 'lease', granted: false, reason: 'full' }],
  ];
  const variants: [string, Partial<RunRecord>][] = [
    ['', {}],
    [' (judging the old slot)', { judgingOldSlot: true }],
    [' (trial passed)', { passed: 'health trial passed' }],
  ];
  const cases = STATES.flatMap((state) =>
    variants.flatMap(([v, runOver]) =>
      observations.map(([o, obs]) => [`${state}${v} × ${o}`, state, runOver, obs] as const),
    ),
  );
  it.each(cases)('%s', (_n, state, runOver, obs) => {
    const from = rec(state, {}, runOver);
    const d = decide(from, obs, NOW, policy);
    expectLegal(from, d);
    // A state after IDLE always has a run; a wake-up is never in the past by more than nothing.
    if (d.next.state !== 'IDLE') expect(d.next.run).toBeDefined();
    for (const e of d.effects) if (e.kind === 'wake') expect(e.at).toBeGreaterThanOrEqual(NOW);
  });
});

describe('decide: history and desired', () => {
  it('keeps the last historyLength runs', () => {
    const old = [run({ version: 'a' }), run({ version: 'b' }), run({ version: 'c' })];
    const d = decide(rec('INSTALLING', { history: old }), upd(UpdateState.FAILED), NOW, policy);
    expect(d.next.history.map((r) => r.version)).toEqual(['b', 'c', '1.0.0']);
    expect(d.next.history[2]).toMatchObject({ result: 'FAILED', endedAt: NOW });
  });
  it('a desired update that came during the run starts the next one when it ends', () => {
    const d = decide(
      rec('VERIFYING', { desired: D2 }, { passed: 'ok' }),
      upd(UpdateState.COMMITTED),
      NOW,
      policy,
    );
    expect(d.next.state).toBe('COMMITTED');
    expect(kinds(d.effects)).toEqual(['record-history', 'wake+0s']);
  });
  it('sameDesired compares every field, the manifest too', () => {
    expect(sameDesired(D1, desired('1.0.0'))).toBe(true);
    expect(sameDesired(D1, D1_CLOSED)).toBe(false);
    expect(sameDesired(D1, undefined)).toBe(false);
    expect(sameDesired(undefined, undefined)).toBe(true);
  });
});
