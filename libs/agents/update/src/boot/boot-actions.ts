/**
 * What the update agent does to the ESP and its boot entries, each step idempotent (a start after
 * kill -9 runs it again): make a slot unbootable before its bytes change, put a slot's boot files
 * in place, bless the new entry, make the bad one never boot again, and check the ESP's room first.
 */
import { stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { ContractError, ErrorCode, type UpdateManifest } from '@outpost/contracts';
import { matchesPattern, type EspBootLoader, type SlotLayout } from '@outpost/device';
import { bootableEntryOf, bootFilePath, entriesBooting } from '../domain/boot-entry.js';
import { BOOT_FILE_NAMES } from '../domain/manifest.js';
import { stagedBootFile } from '../image/image-download.js';

/**
 * Why the ESP cannot take the boot files ('' when it can): its free space plus what the target
 * slot's old files free must hold the new ones.
 */
export async function espShortfall(espDir: string, manifest: UpdateManifest, slot: string): Promise<string> {
  if (manifest.bootFiles.length === 0) return '';
  const need = manifest.bootFiles.reduce((sum, f) => sum + Number(f.size), 0);
  try {
    const s = await statfs(espDir);
    const free = Number(s.bavail) * Number(s.bsize);
    let reclaimed = 0;
    for (const name of Object.values(BOOT_FILE_NAMES))
      reclaimed += await stat(join(espDir, bootFilePath(slot, name))).then(
        (st) => st.size,
        () => 0,
      );
    if (free + reclaimed >= need) return '';
    return `the ESP (${espDir}) has ${free} bytes free (+${reclaimed} of slot ${slot}'s old boot files), the boot files need ${need}`;
  } catch (err) {
    return `the ESP (${espDir}) cannot be checked: ${(err as Error).message}`;
  }
}

/**
 * Puts the staged boot files (in `stagingDir`) on the ESP under the target slot's own names,
 * atomically, before its entry exists. Refuses a path the active slot's entry boots from.
 */
export async function installBootFiles(
  loader: EspBootLoader,
  manifest: UpdateManifest,
  target: { slot: string; stagingDir: string; activeFiles: string[] },
  beforeRename: () => void,
): Promise<void> {
  for (const file of manifest.bootFiles) {
    const name = BOOT_FILE_NAMES[file.kind] ?? '';
    const path = bootFilePath(target.slot, name);
    if (target.activeFiles.includes(path))
      throw new Error(`${path} is what the running slot boots: it is never written`);
    await loader.installFile(path, join(target.stagingDir, stagedBootFile(name)), file.sha256, {
      beforeRename,
    });
  }
}

/** Before the slot's bytes change: no entry may boot it, and neither default nor one-shot may name it. */
export async function invalidateTarget(loader: EspBootLoader, layout: SlotLayout): Promise<void> {
  const entries = await loader.entries();
  const stale = entriesBooting(entries, layout.inactive.slot);
  const activeEntry = bootableEntryOf(entries, layout.active.slot);
  const def = await loader.defaultPattern();
  if (activeEntry && def && stale.some((e) => matchesPattern(def, e.id)))
    await loader.setDefault(activeEntry.id);
  const oneShot = await loader.oneShot();
  if (oneShot && stale.some((e) => e.id === oneShot)) await loader.clearOneShot();
  for (const e of stale) await loader.remove(e.id);
}

/** The commit on the ESP: the entry blessed and the default. */
export async function applyCommit(loader: EspBootLoader, entryId: string): Promise<void> {
  try {
    await loader.bless(entryId);
    await loader.setDefault(entryId);
  } catch (err) {
    throw new ContractError(
      ErrorCode.INTERNAL,
      `commit recorded, but ${entryId} could not be blessed (retried at the next start or commit): ${(err as Error).message}`,
    );
  }
}

/**
 * The entry of a failed or rolled-back update never boots again: out of tries, not the one-shot,
 * and not the default (the running slot's entry is, when the default named it). `activeSlot` is
 * read when it is needed, after the entry is marked.
 */
export async function markEntryBad(
  loader: EspBootLoader,
  entryId: string,
  activeSlot: () => Promise<string>,
): Promise<void> {
  const entry = await loader.find(entryId);
  if (entry && entry.triesLeft !== 0) await loader.markBad(entryId);
  if ((await loader.oneShot()) === entryId) await loader.clearOneShot();
  const previous = bootableEntryOf(await loader.entries(), await activeSlot());
  const def = await loader.defaultPattern();
  if (previous && def && matchesPattern(def, entryId)) await loader.setDefault(previous.id);
}
