/**
 * The simulated device's hardware: raw facts kept in <simulatorDir>/hardware/inventory.json, which a
 * test or an operator edits to "change the hardware". Created with a plausible edge box on first use.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@outpost/agent-runtime';
import type { RawFacts } from '../domain/raw-facts.js';
import { defaultSimulatedFacts } from './simulated-default.js';

export function simulatedFactsPath(simulatorDir: string): string {
  return join(simulatorDir, 'hardware', 'inventory.json');
}

export async function collectSimulatedFacts(simulatorDir: string): Promise<RawFacts> {
  const path = simulatedFactsPath(simulatorDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const facts = defaultSimulatedFacts();
    await writeFileAtomic(path, `${JSON.stringify(facts, null, 2)}\n`, 0o644);
    return facts;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${path}: raw hardware facts must be a JSON object`);
  }
  return parsed as RawFacts;
}
