/**
 * The orchestrator's state file: typed records in version 2, and a version-1 file (desired updates as
 * JSON text) migrated on load, so a run in flight during an upgrade goes on where it stood.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDecodeError } from '@outpost/agent-runtime';
import { decide, type DecidePolicy } from '../domain/orchestration-decide.js';
import { OrchestratorStateStore } from './orchestrator-state.store.js';

const NOW = Date.UTC(2026, 0, 10, 12, 0);
const desiredText = (windowEnd: string) =>
  JSON.stringify({
    manifest: {
      version: '3.1.0',
      imageUrl: 'http://updates.example/os.img',
      size: '4194304',
      sha256: 'a'.repeat(64),
      signature: 'c2ln',
    },
    windows: [{ timeZone: 'UTC', single: { start: '2026-01-10T11:00', end: windowEnd } }],
    healthPolicy: {
      deadlineSeconds: 60,
      checks: [{ name: 'app', command: ['/bin/true'], required: true, timeoutSeconds: 5 }],
    },
    retry: 1,
  });

const runV1 = {
  version: '3.1.0',
  retry: 1,
  startedAt: NOW - 600_000,
  windowsWaited: 0,
  downloadMs: 1000,
  waitMs: 2000,
  installMs: 3000,
  verifyMs: 0,
  reason: '',
  phaseAt: NOW - 60_000,
};

/** What version 1 (before typed records) wrote in the middle of a health trial. */
const v1InFlight = {
  version: 1,
  data: {
    state: 'VERIFYING',
    since: NOW - 60_000,
    detail: 'booted the new slot; health trial running',
    run: runV1,
    desiredJson: desiredText('2026-01-10T18:00'),
    runDesiredJson: desiredText('2026-01-10T15:00'),
    history: [{ ...runV1, version: '3.0.0', retry: 0, result: 'COMMITTED', endedAt: NOW - 900_000 }],
  },
};

const policy: DecidePolicy = {
  nodeId: 'n1',
  expectedUpdateMs: 1_800_000,
  minimumWindowLeftMs: 0,
  jitterFraction: 0,
  statusPollMs: 60_000,
  trialPollMs: 2_000,
  leaseRetryMs: 30_000,
  offNodeChecksCount: false,
  historyLength: 50,
};

describe('OrchestratorStateStore', () => {
  let dir: string;
  let store: OrchestratorStateStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-orch-store-'));
    store = new OrchestratorStateStore(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const writeV1 = async (doc: unknown) => {
    await mkdir(join(dir, 'orchestrator'), { recursive: true });
    await writeFile(store.path, JSON.stringify(doc));
  };

  it('has nothing before the first save', async () => {
    expect(await store.load()).toBeUndefined();
  });

  it('migrates a version-1 file with a run in flight: the run goes on after the upgrade', async () => {
    await writeV1(v1InFlight);
    const r = await store.load();
    expect(r).toMatchObject({ state: 'VERIFYING', since: NOW - 60_000, run: runV1 });
    expect(r?.history).toHaveLength(1);
    // The desired updates are typed values now, each its own (the run keeps the one it started with).
    expect(r?.desired?.manifest.version).toBe('3.1.0');
    expect(r?.desired?.manifest.size).toBe(4194304n);
    expect(r?.runDesired?.checks).toEqual([
      { name: 'app', command: ['/bin/true'], required: true, timeoutSeconds: 5, offNode: false },
    ]);
    expect(r?.runDesired?.windows).not.toEqual(r?.desired?.windows);
    if (!r) return;
    // Resumed: the health trial starts over with the run's checks.
    const { effects } = decide(r, { kind: 'started' }, NOW, policy);
    expect(effects.map((e) => e.kind)).toEqual(['poll-update', 'wake', 'health-check']);
    expect(effects[2]).toMatchObject({ target: 'new-slot', fresh: true, checks: [{ name: 'app' }] });
  });

  it('saves version 2: typed fields, no JSON text inside, read back the same', async () => {
    await writeV1(v1InFlight);
    const r = await store.load();
    if (!r) throw new Error('not loaded');
    await store.save(r);
    const doc = JSON.parse(await readFile(store.path, 'utf8')) as {
      version: number;
      data: Record<string, unknown>;
    };
    expect(doc.version).toBe(2);
    expect(doc.data.state).toBe('VERIFYING');
    expect(doc.data).not.toHaveProperty('desiredJson');
    expect(doc.data).not.toHaveProperty('runDesiredJson');
    expect(doc.data.desired).toMatchObject({ retry: 1, manifest: { version: '3.1.0', size: '4194304' } });
    expect(await store.load()).toEqual(r);
  });

  it('drops a version-1 desired text that does not validate (the watcher delivers it again)', async () => {
    await writeV1({
      version: 1,
      data: { ...v1InFlight.data, state: 'IDLE', run: undefined, desiredJson: '{' },
    });
    const r = await store.load();
    expect(r?.state).toBe('IDLE');
    expect(r?.desired).toBeUndefined();
  });

  it.each([
    ['an unknown state', { state: 'SLEEPING', since: 1, detail: '', history: [] }, /SLEEPING is not a state/],
    [
      'a run state without a run',
      { state: 'INSTALLING', since: 1, detail: '', history: [] },
      /without a run/,
    ],
    ['no history', { state: 'IDLE', since: 1, detail: '' }, /history is not a list/],
  ])('refuses %s', async (_n, data, message) => {
    await writeV1({ version: 2, data });
    const err = await store.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateDecodeError);
    expect(String(err)).toMatch(message);
  });
});
