/**
 * One scan: collect raw facts (the host under a root, or the simulator's file), normalize them into
 * the inventory contract and hash the content. `scanOnce` is what the bench times.
 */
import { contentHash } from '../domain/diff.js';
import type { InventoryContent, ProblemContent } from '../domain/inventory.js';
import { normalize } from '../domain/normalize.js';
import type { RawFacts } from '../domain/raw-facts.js';
import { collectHostFacts, type CollectOptions } from './sysfs.collector.js';

export interface ScanResult {
  content: InventoryContent;
  problems: ProblemContent[];
  hash: string;
}

/** Pure: raw facts to the normalized inventory and its hash. */
export function scanFacts(raw: RawFacts): ScanResult {
  const { content, problems } = normalize(raw);
  return { content, problems, hash: contentHash(content) };
}

/** A full scan of the host (or of a copied tree under `root`). */
export async function scanOnce(root = '/', options: Omit<CollectOptions, 'root'> = {}): Promise<ScanResult> {
  return scanFacts(await collectHostFacts({ ...options, root }));
}
