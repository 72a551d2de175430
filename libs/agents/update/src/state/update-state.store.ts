/**
 * The update record on disk: <stateDir>/update/state.json, a versioned document written with
 * write-fsync-rename, so kill -9 or a power cut leaves the old record or the new, never a torn one.
 */
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '@outpost/agent-runtime';
import { RECORD_VERSION, type UpdateRecord } from '../domain/update-record.js';
import { STATES } from '../domain/update-state.js';

export class UpdateStateStore {
  readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, 'state.json');
  }

  async load(): Promise<UpdateRecord | undefined> {
    const doc = await readJson<UpdateRecord>(this.path);
    if (!doc) return undefined;
    if (doc.version !== RECORD_VERSION)
      throw new Error(`${this.path}: state version ${doc.version}, this agent reads ${RECORD_VERSION}`);
    if (!STATES.includes(doc.data.state)) throw new Error(`${this.path}: unknown state ${doc.data.state}`);
    return doc.data;
  }

  save(record: UpdateRecord): Promise<void> {
    return writeJsonAtomic(this.path, RECORD_VERSION, record);
  }
}
