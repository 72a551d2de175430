/**
 * The last inventory this node published, kept across restarts (and reboots) so a disk swapped while
 * the node was off shows up as a diff, and an unchanged node publishes nothing after a restart.
 * Versioned, written with write-fsync-rename.
 */
import { join } from 'node:path';
import { readJson, StateFile } from '@outpost/agent-runtime';
import type { InventoryContent } from '../domain/inventory.js';

export const INVENTORY_STATE_VERSION = 1;

export interface StoredInventory {
  hash: string;
  /** ISO time of the scan that produced it. */
  scannedAt: string;
  content: InventoryContent;
}

export class InventoryStore {
  readonly path: string;
  /** Saves are serialised: a rescan finishing early never lands under an older one. */
  private readonly file: StateFile<StoredInventory>;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'hardware', 'inventory.json');
    this.file = new StateFile(this.path, INVENTORY_STATE_VERSION);
  }

  /** The stored inventory; undefined if there is none or it is of another version. Throws if corrupt. */
  async load(): Promise<StoredInventory | undefined> {
    const doc = await readJson<StoredInventory>(this.path);
    if (!doc || doc.version !== INVENTORY_STATE_VERSION) return undefined;
    const data = doc.data;
    if (typeof data?.hash !== 'string' || typeof data.content !== 'object' || data.content === null) {
      throw new Error(`${this.path}: not a stored inventory`);
    }
    return data;
  }

  save(inventory: StoredInventory): Promise<void> {
    return this.file.save(inventory);
  }
}
