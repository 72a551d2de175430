// Runs the real `systemd-analyze` (package `systemd`) against the units in deploy/systemd:
// `verify` (syntax, dependencies, ExecStart binaries) and `security --offline=yes` (exposure level),
// and reads the exposure budgets (<unit>.budget) kept beside the units.
//
// Used by systemd-units.spec.ts and by deploy/systemd/exposure-table.mjs, which imports this file
// directly (Node 24 strips the types), so: node: imports only, and only erasable TypeScript syntax.
import { execFile } from 'node:child_process';
import { constants, accessSync, readdirSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** deploy/systemd in this repository. */
export const UNIT_DIR: string = fileURLToPath(new URL('../../deploy/systemd/', import.meta.url));

/** systemd-analyze gained `--offline=`, `--root=` for verify and `--recursive-errors=` in v250. */
export const MIN_SYSTEMD_VERSION = 250;

export const INSTALL_HINT =
  'systemd-analyze is required to check the units in deploy/systemd and was not found on PATH.\n' +
  '  Install it with the `systemd` package: apt-get install systemd (Debian/Ubuntu), ' +
  'dnf install systemd (Fedora/RHEL).\n' +
  '  PID 1 does not have to be systemd: only the systemd-analyze tool is used.';

export interface ExposureRow {
  /** Unit file name, e.g. outpost-node-agent.service. */
  unit: string;
  /** "Overall exposure level" from `systemd-analyze security --offline=yes` (0 = best, 10 = worst). */
  exposure: number;
  /** The maximum allowed exposure from <unit>.budget, or null when the file is missing. */
  budget: number | null;
}

export interface VerifyResult {
  /** Exit status of `systemd-analyze verify --recursive-errors=no` (non-zero: our units have errors). */
  exitCode: number;
  /** Output lines that are about our units, or that name no unit at all: each one is a failure. */
  problems: string[];
  /** Output lines about other (host) units pulled in as dependencies: reported, not failures. */
  unrelated: string[];
  /** Everything systemd-analyze printed, for failure messages. */
  output: string;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        timeout: 60_000,
        // No colours, no pager, no locale-dependent wording in the output we parse.
        env: {
          ...process.env,
          SYSTEMD_COLORS: '0',
          SYSTEMD_PAGER: 'cat',
          SYSTEMD_LOG_COLOR: '0',
          LC_ALL: 'C',
        },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          // Not an exit status: spawn failure (ENOENT, EACCES), timeout or signal.
          reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** The absolute path of systemd-analyze (searched in PATH, then /usr/bin and /bin), or throws with how to install it. */
export function findSystemdAnalyze(
  dirs: readonly string[] = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/bin', '/bin'],
): string {
  for (const dir of dirs.filter((d) => d !== '')) {
    const candidate = join(dir, 'systemd-analyze');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(INSTALL_HINT);
}

/** The systemd version systemd-analyze reports (e.g. 252), or throws when it is too old to be used here. */
export async function systemdVersion(analyze: string = findSystemdAnalyze()): Promise<number> {
  const { stdout } = await run(analyze, ['--version']);
  const match = /^systemd (\d+)/m.exec(stdout);
  if (!match?.[1])
    throw new Error(`cannot read the systemd version from \`${analyze} --version\`:\n${stdout}`);
  const version = Number(match[1]);
  if (version < MIN_SYSTEMD_VERSION) {
    throw new Error(
      `systemd-analyze is from systemd ${version}; these checks need systemd >= ${MIN_SYSTEMD_VERSION} ` +
        '(security --offline=, verify --root= and --recursive-errors=). Upgrade the `systemd` package.',
    );
  }
  return version;
}

/** The unit files (*.service, *.target, *.timer) in a directory, sorted. */
export function listUnits(dir: string = UNIT_DIR): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.service') || name.endsWith('.target') || name.endsWith('.timer'))
    .sort();
}

/** The service files (*.service) in a directory, sorted. */
export function listServices(dir: string = UNIT_DIR): string[] {
  return listUnits(dir).filter((name) => name.endsWith('.service'));
}

/**
 * The absolute paths of the programs a unit runs (ExecStart=, ExecStartPre= ... ExecReload=),
 * with the special prefixes (@ - : + !) removed. Lines continued with a backslash are joined.
 */
export function execPaths(unitText: string): string[] {
  const paths = new Set<string>();
  const lines = unitText.replace(/\\\n/g, ' ').split('\n');
  for (const line of lines) {
    const match = /^\s*Exec(?:Start|StartPre|StartPost|Condition|Reload|Stop|StopPost)\s*=\s*(.*)$/.exec(
      line,
    );
    if (!match?.[1]) continue;
    const command = match[1].trim().replace(/^[@\-:+!]+/, '');
    const program = command.split(/\s+/)[0];
    if (program?.startsWith('/')) paths.add(program);
  }
  return [...paths].sort();
}

/**
 * A throw-away file system root for `systemd-analyze verify --root=`: our units in
 * etc/systemd/system, a copy of the host's stock units in usr/lib/systemd/system (so that
 * default dependencies such as sysinit.target resolve, as they would on a real host), and an
 * executable placeholder at every ExecStart=/ExecStop=... path (the real /opt/outpost exists only
 * on an installed node). Remove it with removeRoot().
 */
export async function makeVerifyRoot(dir: string = UNIT_DIR, units: readonly string[] = listUnits(dir)) {
  const root = await mkdtemp(join(tmpdir(), 'outpost-systemd-verify-'));
  const systemDir = join(root, 'etc/systemd/system');
  await mkdir(systemDir, { recursive: true });
  for (const hostUnits of ['/usr/lib/systemd/system', '/lib/systemd/system']) {
    try {
      accessSync(hostUnits, constants.R_OK);
    } catch {
      continue;
    }
    await cp(hostUnits, join(root, hostUnits), { recursive: true, verbatimSymlinks: true });
    break;
  }
  for (const unit of units) {
    const text = await readFile(join(dir, unit), 'utf8');
    await writeFile(join(systemDir, unit), text);
    for (const program of execPaths(text)) {
      const placeholder = join(root, program);
      await mkdir(dirname(placeholder), { recursive: true });
      await writeFile(placeholder, '#!/bin/sh\n# placeholder for systemd-analyze verify\nexit 0\n');
      await chmod(placeholder, 0o755);
    }
  }
  return root;
}

export async function removeRoot(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

const UNIT_SUFFIX = /\.(service|socket|target|device|mount|automount|swap|timer|path|slice|scope)\b/.source;

/**
 * `systemd-analyze verify --root=<tmp> --recursive-errors=no <units>`. verify exits 0 on warnings
 * unless --recursive-errors= is given, and prints warnings about dependencies too, so the output
 * is sorted line by line: a line that names one of our units or files, or names no unit or file
 * at all, is a problem; a line that starts with another unit's name or file is unrelated noise.
 */
export async function verifyUnits(
  dir: string = UNIT_DIR,
  units: readonly string[] = listUnits(dir),
  analyze: string = findSystemdAnalyze(),
): Promise<VerifyResult> {
  const root = await makeVerifyRoot(dir, units);
  try {
    return await verifyInRoot(root, units, analyze);
  } finally {
    await removeRoot(root);
  }
}

/**
 * `systemd-analyze verify --root=<root> --recursive-errors=no <units>` on units already in
 * <root>/etc/systemd/system (e.g. a tree deploy/install.sh --root wrote), sorted as verifyUnits() does.
 */
export async function verifyInRoot(
  root: string,
  units: readonly string[],
  analyze: string = findSystemdAnalyze(),
): Promise<VerifyResult> {
  const { code, stdout, stderr } = await run(analyze, [
    'verify',
    '--no-pager',
    `--root=${root}`,
    '--recursive-errors=no',
    ...units,
  ]);
  const output = `${stdout}${stderr}`;
  const problems: string[] = [];
  const unrelated: string[] = [];
  const otherUnit = new RegExp(`^\\s*(?:[^\\s:]+${UNIT_SUFFIX}|/[^\\s:]+):`);
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const aboutOurs = line.includes(root) || units.some((unit) => line.includes(unit));
    if (!aboutOurs && otherUnit.test(line)) unrelated.push(line);
    else problems.push(line);
  }
  return { exitCode: code, problems, unrelated, output };
}

/** The "Overall exposure level" of a service file from `systemd-analyze security --offline=yes`. */
export async function securityExposure(
  unitPath: string,
  analyze: string = findSystemdAnalyze(),
): Promise<number> {
  const unit = basename(unitPath);
  const { code, stdout, stderr } = await run(analyze, ['security', '--no-pager', '--offline=yes', unitPath]);
  const match = /Overall exposure level for (\S+): (\d+(?:\.\d+)?)/.exec(stdout);
  // A template (name@.service) is scored as an instance of itself ("name@i.service").
  const scored = unit.endsWith('@.service') ? unit.replace('@.service', '@i.service') : unit;
  if (code !== 0 || !match?.[2] || match[1] !== scored) {
    throw new Error(
      `no overall exposure level for ${unit} from \`systemd-analyze security --offline=yes\` ` +
        `(exit ${code}):\n${stdout}${stderr}`,
    );
  }
  const exposure = Number(match[2]);
  if (!Number.isFinite(exposure)) throw new Error(`unreadable exposure level for ${unit}: ${match[2]}`);
  return exposure;
}

/** The budget file of a unit: <unit>.budget beside it. */
export function budgetPath(unitPath: string): string {
  return `${unitPath}.budget`;
}

/**
 * The maximum allowed exposure from <unit>.budget (one number; blank lines and # comments
 * ignored), or null when there is no such file. Throws when the file is malformed.
 */
export async function readBudget(unitPath: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(budgetPath(unitPath), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const values = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const value = values[0];
  if (values.length !== 1 || value === undefined || !/^\d+(?:\.\d+)?$/.test(value)) {
    throw new Error(
      `${budgetPath(unitPath)}: expected exactly one number besides # comments, got ${JSON.stringify(values)}`,
    );
  }
  const budget = Number(value);
  if (budget < 0 || budget > 10) throw new Error(`${budgetPath(unitPath)}: ${budget} is outside 0..10`);
  return budget;
}

/** Exposure and budget of every service in the directory. */
export async function exposureTable(dir: string = UNIT_DIR): Promise<ExposureRow[]> {
  const analyze = findSystemdAnalyze();
  await systemdVersion(analyze);
  const rows: ExposureRow[] = [];
  for (const unit of listServices(dir)) {
    const unitPath = join(dir, unit);
    rows.push({
      unit,
      exposure: await securityExposure(unitPath, analyze),
      budget: await readBudget(unitPath),
    });
  }
  return rows;
}
