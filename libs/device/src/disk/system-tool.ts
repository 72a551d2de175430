/**
 * Finds an administration tool Debian installs in sbin (sfdisk): on PATH, else in the sbin directories
 * a non-root PATH (or a unit's, or a test's bare one) leaves out. Run by absolute path, so whether it is
 * found does not depend on which PATH the process got.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The absolute path of `command`, or the bare name when it is nowhere (its spawn then fails with ENOENT). */
export function systemTool(command: string, path = process.env.PATH ?? ''): string {
  const dirs = [...path.split(delimiter).filter((d) => d.startsWith('/')), ...SBIN_DIRS];
  for (const dir of dirs) {
    const file = join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return command;
}
