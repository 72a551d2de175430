/**
 * The update record on disk: <stateDir>/update/state.json, a versioned document written with
 * write-fsync-rename, so kill -9 or a power cut leaves the old record or the new, never a torn one.
 */
import { join } from 'node:path';
import { StateFile } from '@outpost/agent-runtime';
import { RECORD_VERSION, type UpdateRecord } from '../domain/update-record.js';
import { STATES } from '../domain/update-state.js';

export class UpdateStateStore {
  private readonly file: StateFile<UpdateRecord>;

  constructor(readonly dir: string) {
    this.file = new StateFile(join(dir, 'state.json'), RECORD_VERSION);
  }

  get path(): string {
    return this.file.path;
  }

  async load(): Promise<UpdateRecord | undefined> {
    const record = await this.file.load();
    if (record && !STATES.includes(record.state))
      throw new Error(`${this.path}: unknown state ${record.state}`);
    return record;
  }

  /** Serialised (StateFile): a save issued later always lands later. */
  save(record: UpdateRecord): Promise<void> {
    return this.file.save(record);
  }
}
