/**
 * The fleet agent's durable state: <stateDir>/fleet/state.json ({version: 1, data},
 * write-fsync-rename), so the echo count survives restarts, kill -9 and power loss.
 */
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '@outpost/agent-runtime';
import type { EchoRecord } from '../domain/echo.js';

const FILE_VERSION = 1;

export class FleetStateStore {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'fleet', 'state.json');
  }

  async load(): Promise<EchoRecord | undefined> {
    const stored = await readJson<EchoRecord>(this.file);
    if (!stored) return undefined;
    if (stored.version !== FILE_VERSION)
      throw new Error(`${this.file} has version ${stored.version}; this agent reads version ${FILE_VERSION}`);
    return stored.data;
  }

  save(record: EchoRecord): Promise<void> {
    return writeJsonAtomic(this.file, FILE_VERSION, record);
  }
}
