/**
 * The telemetry agent's durable state: <stateDir>/telemetry/state.json ({version: 1, data},
 * write-fsync-rename). It is written BEFORE a generation is published, so a restart never reuses a
 * generation number and keeps the configuration in force and the last good one. Profiles are kept
 * as their proto3 JSON text.
 */
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '@outpost/agent-runtime';

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

export class TelemetryStateStore {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'telemetry', 'state.json');
  }

  async load(): Promise<PersistedTelemetry | undefined> {
    const stored = await readJson<PersistedTelemetry>(this.file);
    if (!stored) return undefined;
    if (stored.version !== FILE_VERSION)
      throw new Error(`${this.file} has version ${stored.version}; this agent reads version ${FILE_VERSION}`);
    return stored.data;
  }

  save(state: PersistedTelemetry): Promise<void> {
    return writeJsonAtomic(this.file, FILE_VERSION, state);
  }
}
