/** The persisted machine: round trip, and a file that cannot be trusted is set aside, not half-used. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState } from '@outpost/contracts';
import { writeJsonAtomic } from '@outpost/agent-runtime';
import type { ClusterMachine } from '../domain/cluster-machine.js';
import { ClusterStateStore, parseMachine } from './cluster-state.store.js';

const machine: ClusterMachine = {
  state: ClusterState.INSTALLING,
  since: 1_700_000_000_000,
  sequence: 4,
  attempts: 1,
  lastError: 'exit 1: no network',
  target: { distribution: 'k3s', role: 'agent', joinUrl: 'https://a:6443', tokenRef: 't' },
  installed: { distribution: 'k3s', role: 'agent', joinUrl: 'https://a:6443', tokenRef: 't' },
  desired: {
    presence: 'present',
    spec: { distribution: 'k3s', role: 'agent', joinUrl: 'https://a:6443', tokenRef: 't' },
  },
};

describe('ClusterStateStore', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-cluster-state-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts fresh without a file and round-trips a machine', async () => {
    const store = new ClusterStateStore(join(dir, 'a'));
    expect(await store.load()).toEqual({ kind: 'fresh' });
    await store.save(machine);
    expect(await store.load()).toEqual({ kind: 'loaded', machine });
  });

  it.each([
    ['torn JSON', '{"version":1,"data":{"state":'],
    ['another version', JSON.stringify({ version: 2, data: machine })],
    ['an unknown state', JSON.stringify({ version: 1, data: { ...machine, state: 42 } })],
  ])('moves aside a file with %s', async (_name, text) => {
    const sub = join(dir, `bad-${_name.replace(/\W/g, '')}`);
    const store = new ClusterStateStore(sub);
    await writeJsonAtomic(store.path, 1, {});
    await writeFile(store.path, text);
    const result = await store.load();
    expect(result.kind).toBe('unreadable');
    expect((await readdir(sub)).some((f) => f.startsWith('state.json.unreadable-'))).toBe(true);
    expect(await store.load()).toEqual({ kind: 'fresh' });
  });

  it.each<[string, Record<string, unknown>]>([
    ['a busy state without target', { ...machine, target: undefined }],
    [
      'an unknown distribution',
      { ...machine, installed: { ...machine.installed, distribution: 'microk8s' } },
    ],
    ['a desired state of another shape', { ...machine, desired: { presence: 'maybe' } }],
    ['a non-numeric attempt count', { ...machine, attempts: '1' }],
  ])('trusts no machine with %s', (_name, data) => {
    expect(parseMachine(JSON.parse(JSON.stringify(data)))).toBeUndefined();
  });
});
