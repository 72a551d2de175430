/**
 * The orchestrator's durable record: <stateDir>/orchestrator/state.json ({version: 2, data}, through
 * the shared VersionedStore: write-fsync-rename, saves in order). It holds the typed record `decide`
 * works on; the desired updates are stored as their validated fields (the manifest as its proto JSON
 * object, its uint64 size as a decimal string), decoded once at load — never as JSON text to parse
 * again. Version 1 kept the desired updates as JSON text (desiredJson, runDesiredJson): it is
 * migrated on load, so a run in flight during an upgrade goes on where it stood.
 */
import { join } from 'node:path';
import { fromJson, toJson, type JsonObject } from '@bufbuild/protobuf';
import { decodeJsonText, DesiredUpdateSchema, UpdateManifestSchema } from '@outpost/contracts';
import { VersionedStore, type RecordCodec } from '@outpost/agent-runtime';
import { validateDesired, type Desired } from '@outpost/update-domain';
import type { OrchestratorRecord, RunRecord } from '../domain/orchestration-record.js';
import { STATES, type State } from '../domain/orchestration-state.js';

type StoredDesired = Omit<Desired, 'manifest'> & { manifest: JsonObject };

/** The record as JSON: the desired updates with their manifest in proto JSON form. */
export type StoredRecord = Omit<OrchestratorRecord, 'desired' | 'runDesired'> & {
  desired?: StoredDesired;
  runDesired?: StoredDesired;
};

const FILE_VERSION = 2;

/** Version 1 → 2: the desired updates' JSON text becomes their validated fields. */
function migrateV1(data: unknown): unknown {
  const { desiredJson, runDesiredJson, ...rest } = data as Record<string, unknown>;
  const stored = (text: unknown) => {
    if (typeof text !== 'string') return undefined;
    try {
      const d = validateDesired(decodeJsonText(DesiredUpdateSchema, text));
      return typeof d === 'string' ? undefined : toStoredDesired(d);
    } catch {
      return undefined;
    }
  };
  return { ...rest, desired: stored(desiredJson), runDesired: stored(runDesiredJson ?? desiredJson) };
}

const codec: RecordCodec<StoredRecord> = {
  version: FILE_VERSION,
  migrations: { 1: migrateV1 },
  decode(data) {
    const d = data as Partial<StoredRecord> | null;
    if (!d || typeof d !== 'object') throw new Error('data is not an object');
    if (!STATES.includes(d.state as State)) throw new Error(`state ${String(d.state)} is not a state`);
    if (typeof d.since !== 'number') throw new Error('since is not a number');
    if (typeof d.detail !== 'string') throw new Error('detail is not a string');
    if (!Array.isArray(d.history)) throw new Error('history is not a list');
    for (const [i, r] of [...(d.run ? [d.run] : []), ...d.history].entries()) checkRun(r, i);
    if (d.state !== 'IDLE' && !d.run) throw new Error(`state ${d.state} without a run`);
    return d as StoredRecord;
  },
};

function checkRun(r: RunRecord, i: number): void {
  if (typeof r?.version !== 'string' || typeof r.retry !== 'number' || typeof r.startedAt !== 'number')
    throw new Error(`run ${i} lacks version, retry or startedAt`);
}

function toStoredDesired(d: Desired): StoredDesired {
  return { ...d, manifest: toJson(UpdateManifestSchema, d.manifest) as JsonObject };
}

function fromStoredDesired(d: StoredDesired | undefined): Desired | undefined {
  return d && { ...d, manifest: fromJson(UpdateManifestSchema, d.manifest) };
}

export function toStored(r: OrchestratorRecord): StoredRecord {
  return {
    ...r,
    desired: r.desired && toStoredDesired(r.desired),
    runDesired: r.runDesired && toStoredDesired(r.runDesired),
  };
}

export function fromStored(s: StoredRecord): OrchestratorRecord {
  return { ...s, desired: fromStoredDesired(s.desired), runDesired: fromStoredDesired(s.runDesired) };
}

/** Saves are serialised (VersionedStore): the newest record is the one that lands. */
export class OrchestratorStateStore {
  private readonly store: VersionedStore<StoredRecord>;

  constructor(stateDir: string) {
    this.store = new VersionedStore(join(stateDir, 'orchestrator', 'state.json'), codec);
  }

  get path(): string {
    return this.store.path;
  }

  /** The record (migrated from an older file); undefined when none. Throws StateDecodeError. */
  async load(): Promise<OrchestratorRecord | undefined> {
    const stored = await this.store.load();
    return stored && fromStored(stored);
  }

  save(record: OrchestratorRecord): Promise<void> {
    return this.store.save(toStored(record));
  }

  settled(): Promise<void> {
    return this.store.settled();
  }
}
