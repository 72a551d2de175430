// The systemd units in deploy/systemd, checked with the real systemd-analyze (no mocks):
//  - `systemd-analyze verify` on every *.service / *.target, in a throw-away root that holds our units,
//    the host's stock units and placeholders at the ExecStart= paths (/opt/outpost is not installed here);
//  - `systemd-analyze security --offline=yes` on every *.service, against its <unit>.budget.
// Without systemd-analyze these tests fail (they do not skip): install the `systemd` package.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { NODE_ENV, NODE_FLAGS } from '../../tools/scripts/shipped.mjs';
import {
  UNIT_DIR,
  budgetPath,
  execPaths,
  exposureTable,
  findSystemdAnalyze,
  listServices,
  listUnits,
  readBudget,
  securityExposure,
  systemdVersion,
  verifyUnits,
} from './systemd-analyze.js';

const units = listUnits();
const services = listServices();

/** The systemd-analyze path, or the install hint as the failure of every test that needs it. */
function analyze(): string {
  return findSystemdAnalyze();
}

describe('deploy/systemd', () => {
  it('has units to check (at least the node agent and outpost.target)', () => {
    expect(units).toEqual(expect.arrayContaining(['outpost.target', 'outpost-node-agent.service']));
    expect(services.length).toBeGreaterThan(0);
  });

  it('says how to install systemd-analyze when it is missing', () => {
    expect(() => findSystemdAnalyze(['/nonexistent/bin'])).toThrow(/apt-get install systemd/);
  });

  it('has systemd-analyze (package `systemd`) at a usable version', async () => {
    const version = await systemdVersion(analyze());
    expect(version).toBeGreaterThanOrEqual(250);
  });
});

describe('systemd-analyze verify', () => {
  it.each(units)('%s verifies without warnings', async (unit) => {
    const result = await verifyUnits(UNIT_DIR, [unit], analyze());
    expect(result.problems).toEqual([]);
    expect(result.exitCode).toBe(0);
  });

  it('all units verify together (WantedBy=/PartOf= between them resolve)', async () => {
    const result = await verifyUnits(UNIT_DIR, units, analyze());
    expect(result.problems).toEqual([]);
    expect(result.exitCode).toBe(0);
  });

  it('every service runs absolute programs (so the placeholders stand where ExecStart= looks)', async () => {
    for (const service of services) {
      const paths = execPaths(await readFile(join(UNIT_DIR, service), 'utf8'));
      expect({ service, paths }).toEqual({
        service,
        paths: expect.arrayContaining([expect.stringMatching(/^\//)]),
      });
    }
  });
});

describe('the agents run as the bench measured them and the tests run them', () => {
  const agentUnits = services.filter((s) => /^outpost-(.+-agent|edge-node)\.service$/.test(s));

  it('every agent unit and edge-node are there', () => {
    expect(agentUnits).toEqual(
      expect.arrayContaining(['outpost-edge-node.service', 'outpost-node-agent.service']),
    );
  });

  it.each(agentUnits)(
    '%s starts Node with the shipped flags and environment (tools/scripts/shipped.mjs)',
    async (unit) => {
      const text = await readFile(join(UNIT_DIR, unit), 'utf8');
      const exec = /^ExecStart=(.*)$/m.exec(text)?.[1].split(/\s+/) ?? [];
      const app = unit.replace(/^outpost-|\.service$/g, '');
      expect(exec[0]).toBe('/opt/outpost/node/bin/node');
      expect(exec.at(-1)).toBe(`/opt/outpost/apps/${app}/dist/main.js`);
      expect(exec).toEqual(expect.arrayContaining([...NODE_FLAGS]));
      for (const [name, value] of Object.entries(NODE_ENV))
        expect(text).toMatch(new RegExp(`^Environment=${name}=${value}$`, 'm'));
      // V8's compile cache in the unit's own cache directory (tools/scripts/shipped.mjs unitEnv).
      expect(text).toMatch(new RegExp(`^CacheDirectory=outpost/${app}$`, 'm'));
      expect(text).toMatch(new RegExp(`^Environment=NODE_COMPILE_CACHE=%C/outpost/${app}$`, 'm'));
    },
  );
});

describe('systemd-analyze security --offline=yes', () => {
  it.each(services)('%s has a budget file', async (service) => {
    const budget = await readBudget(join(UNIT_DIR, service));
    if (budget === null) throw new Error(`missing ${budgetPath(join(UNIT_DIR, service))}`);
    expect(budget).toBeGreaterThanOrEqual(0);
  });

  it.each(services)('%s stays within its exposure budget', async (service) => {
    const unitPath = join(UNIT_DIR, service);
    const exposure = await securityExposure(unitPath, analyze());
    const budget = await readBudget(unitPath);
    expect(typeof exposure).toBe('number');
    expect(Number.isFinite(exposure)).toBe(true);
    expect(exposure).toBeGreaterThanOrEqual(0);
    expect(exposure).toBeLessThanOrEqual(10);
    if (budget === null) throw new Error(`missing ${budgetPath(unitPath)}`);
    // toEqual on an object so the failure message names the unit and both numbers.
    expect({ service, exposure, budget, withinBudget: exposure <= budget }).toEqual({
      service,
      exposure,
      budget,
      withinBudget: true,
    });
  });

  it('exposureTable() lists every service with its exposure and budget', async () => {
    const table = await exposureTable();
    expect(table.map((row) => row.unit)).toEqual(services);
    for (const row of table) {
      expect(Number.isFinite(row.exposure)).toBe(true);
      expect(row.budget).not.toBeNull();
    }
  });
});

// The checks above must be able to fail: run them on deliberately bad units.
describe('the checks catch bad units', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-bad-units-'));
    await writeFile(
      join(dir, 'bad-key.service'),
      '[Unit]\nDescription=typo\n\n[Service]\nExecStart=/opt/bad/bin/run\nProtectSytem=strict\n',
    );
    await writeFile(join(dir, 'no-binary.service'), '[Service]\nExecStart=/opt/bad/bin/run\n');
    await writeFile(join(dir, 'bad-value.target'), '[Unit]\nDescription=bad\nStopWhenUnneeded=maybe\n');
    await writeFile(join(dir, 'wide-open.service'), '[Service]\nExecStart=/bin/true\n');
    await writeFile(join(dir, 'wide-open.service.budget'), '# test\n2.0\n');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('verify reports an unknown directive', async () => {
    const result = await verifyUnits(dir, ['bad-key.service'], analyze());
    expect(result.problems.join('\n')).toMatch(/Unknown key 'ProtectSytem'/);
  });

  it('verify reports an invalid value in a target', async () => {
    const result = await verifyUnits(dir, ['bad-value.target'], analyze());
    expect(result.problems.join('\n')).toMatch(/StopWhenUnneeded|parse/i);
  });

  it('verify reports a missing ExecStart= binary when there is no placeholder', async () => {
    // makeVerifyRoot() places placeholders at ExecStart= paths, so verify the file from its own
    // directory instead, where /opt/bad/bin/run does not exist.
    const output = await new Promise<string>((resolve) => {
      execFile(
        analyze(),
        ['verify', '--recursive-errors=no', join(dir, 'no-binary.service')],
        { encoding: 'utf8', env: { ...process.env, SYSTEMD_COLORS: '0', LC_ALL: 'C' } },
        (_error, stdout, stderr) => resolve(`${stdout}${stderr}`),
      );
    });
    expect(output).toMatch(/\/opt\/bad\/bin\/run.*(not executable|No such file)/);
  });

  it('security scores an unhardened service far above the budget it was given', async () => {
    const unitPath = join(dir, 'wide-open.service');
    const exposure = await securityExposure(unitPath, analyze());
    expect(exposure).toBeGreaterThan(8);
    expect(await readBudget(unitPath)).toBe(2);
  });

  it('security reports a service without a budget file', async () => {
    expect(await readBudget(join(dir, 'no-binary.service'))).toBeNull();
  });

  it('a malformed budget file is an error, not a pass', async () => {
    await writeFile(join(dir, 'bad-key.service.budget'), '# two numbers\n1.0\n2.0\n');
    await expect(readBudget(join(dir, 'bad-key.service'))).rejects.toThrow(/exactly one number/);
  });

  it('security on something that is not a unit file fails instead of returning a number', async () => {
    await expect(securityExposure(join(dir, 'missing.service'), analyze())).rejects.toThrow(
      /no overall exposure level/,
    );
  });
});
