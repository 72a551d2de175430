/**
 * The orchestrator's durable state: <stateDir>/orchestrator/state.json ({version: 1, data},
 * write-fsync-rename). A state is written BEFORE the side effect it announces (REBOOTING before
 * cmd.reboot, ROLLING_BACK before cmd.rollback), so a restart knows what was under way. The last
 * good desired state is kept as its JSON text; the history holds every finished run.
 */
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '@outpost/agent-runtime';
import type { State } from '../domain/orchestration-state.js';

export interface RunRecord {
  version: string;
  retry: number;
  startedAt: number;
  endedAt?: number;
  windowsWaited: number;
  downloadMs: number;
  waitMs: number;
  installMs: number;
  verifyMs: number;
  result?: State;
  reason: string;
  /** The rollout lease this run holds (from install to the end of the run). */
  lease?: { group: string; slot: number };
  /** Wall time cmd.rollback was requested: the old slot is judged only in a boot after it. */
  rollbackAt?: number;
  /** Wall time the current phase began (for the durations above). */
  phaseAt: number;
}

export interface PersistedState {
  state: State;
  since: number;
  detail: string;
  run?: RunRecord;
  desiredJson?: string;
  /** The desired state the current run started from: its windows and health policy rule the run. */
  runDesiredJson?: string;
  history: RunRecord[];
}

const FILE_VERSION = 1;

export class OrchestratorStateStore {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'orchestrator', 'state.json');
  }

  async load(): Promise<PersistedState | undefined> {
    const stored = await readJson<PersistedState>(this.file);
    if (!stored) return undefined;
    if (stored.version !== FILE_VERSION)
      throw new Error(`${this.file} has version ${stored.version}; this agent reads version ${FILE_VERSION}`);
    return stored.data;
  }

  save(state: PersistedState): Promise<void> {
    return writeJsonAtomic(this.file, FILE_VERSION, state);
  }
}
