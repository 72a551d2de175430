/**
 * The telemetry agent's durable state: <stateDir>/telemetry/state.json ({version: 1, data},
 * write-fsync-rename). It is written BEFORE a generation is published, so a restart never reuses a
 * generation number and keeps the configuration in force and the last good one. Profiles are kept
 * as their proto3 JSON text.
 */
import { join } from 'node:path';
import { VersionedStore } from '@outpost/agent-runtime';

export interface StoredConfig {
  generation: number;
  /** TelemetryConfig JSON text. */
  configJson: string;
  /** The source profiles it was merged from (TelemetryProfile JSON text; absent: no such key). */
  fleetJson?: string;
  nodeJson?: string;
}

export interface PersistedTelemetry {
  /** The highest generation ever published. */
  generation: number;
  effective?: StoredConfig;
  lastGood?: StoredConfig;
  /** KV revisions already taken into account (a watch replays the current value after a restart). */
  fleetRevision: number;
  nodeRevision: number;
  /** TelemetryRejection JSON text, per KV key. */
  rejections: Record<string, string>;
  /** TelemetryApplyReport JSON text. */
  lastApplyReportJson?: string;
  /** Why the configuration in force is not what the data plane runs (a failed apply without rollback). */
  applyProblem?: string;
}

const FILE_VERSION = 1;

/** Saves are serialised (StateFile): the newest state is the one that lands. */
export class TelemetryStateStore {
  private readonly file: VersionedStore<PersistedTelemetry>;

  constructor(stateDir: string) {
    this.file = new VersionedStore(join(stateDir, 'telemetry', 'state.json'), {
      version: FILE_VERSION,
      decode: decodeTelemetry,
    });
  }

  get path(): string {
    return this.file.path;
  }

  load(): Promise<PersistedTelemetry | undefined> {
    return this.file.load();
  }

  save(state: PersistedTelemetry): Promise<void> {
    return this.file.save(state);
  }
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The stored state, checked field by field (the profile texts are checked when they are parsed). */
export function decodeTelemetry(data: unknown): PersistedTelemetry {
  const d = data as Partial<PersistedTelemetry> | null;
  if (typeof d !== 'object' || d === null) throw new Error('not a telemetry state');
  for (const key of ['generation', 'fleetRevision', 'nodeRevision'] as const)
    if (!isNumber(d[key])) throw new Error(`${key}: not a number`);
  if (typeof d.rejections !== 'object' || d.rejections === null) throw new Error('rejections: not an object');
  for (const key of ['effective', 'lastGood'] as const) {
    const c = d[key];
    if (c !== undefined && (!isNumber(c.generation) || typeof c.configJson !== 'string'))
      throw new Error(`${key}: not a stored configuration`);
  }
  return d as PersistedTelemetry;
}
