/**
 * The orchestrator's durable state: <stateDir>/orchestrator/state.json ({version: 1, data},
 * write-fsync-rename). A state is written BEFORE the side effect it announces (REBOOTING before
 * cmd.reboot, ROLLING_BACK before cmd.rollback), so a restart knows what was under way. The last
 * good desired state is kept as its JSON text; the history holds every finished run.
 */
import { join } from 'node:path';
import { StateFile } from '@outpost/agent-runtime';
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

/** Saves are serialised (StateFile): the newest state is the one that lands. */
export class OrchestratorStateStore {
  private readonly file: StateFile<PersistedState>;

  constructor(stateDir: string) {
    this.file = new StateFile(join(stateDir, 'orchestrator', 'state.json'), FILE_VERSION);
  }

  get path(): string {
    return this.file.path;
  }

  load(): Promise<PersistedState | undefined> {
    return this.file.load();
  }

  save(state: PersistedState): Promise<void> {
    return this.file.save(state);
  }
}
