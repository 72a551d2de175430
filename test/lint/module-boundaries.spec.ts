/**
 * The Nx module-boundary rule really enforces the graph (a rule that silently skips, e.g. without a
 * project graph, would let any import through): apps -> agent libs -> shared libs -> contracts, and
 * agent libs never import each other or an app. The test helpers (@outpost/testing, type:test) are for
 * spec files and test/ only: no production file may import them.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = join(new URL('../..', import.meta.url).pathname);

describe('module boundaries', () => {
  let eslint: ESLint;

  beforeAll(() => {
    // The rule reads Nx's cached project graph; compute it as `npm run lint` does.
    execFileSync(join(root, 'node_modules/.bin/nx'), ['show', 'projects'], { cwd: root, stdio: 'ignore' });
    eslint = new ESLint({ cwd: root });
  });

  async function boundaryErrors(file: string, source: string): Promise<string[]> {
    const [result] = await eslint.lintText(source, { filePath: join(root, file) });
    return result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
  }

  it.each([
    ['contracts importing a util lib', 'libs/contracts/src/index.ts', '@outpost/device', /type:contracts/],
    ['contracts importing the bus', 'libs/contracts/src/index.ts', '@outpost/bus', /Circular|type:contracts/],
    [
      'a shared lib importing an agent lib',
      'libs/bus/src/index.ts',
      '@outpost/agent-node',
      /Circular|type:util/,
    ],
    [
      'an agent lib importing an app',
      'libs/agents/node/src/index.ts',
      '@outpost/edge-node',
      /Circular|type:feature/,
    ],
    [
      'the runtime importing an agent lib',
      'libs/agent-runtime/src/index.ts',
      '@outpost/agent-node',
      /Circular|type:util/,
    ],
    [
      "outpostctl importing the orchestrator's agent lib",
      'apps/outpostctl/src/main.ts',
      '@outpost/agent-orchestrator',
      /scope:ctl/,
    ],
    ['an app importing the test helpers', 'apps/node-agent/src/main.ts', '@outpost/testing', /type:app/],
    [
      'an agent lib importing the test helpers',
      'libs/agents/node/src/index.ts',
      '@outpost/testing',
      /type:feature/,
    ],
    ['a shared lib importing the test helpers', 'libs/bus/src/index.ts', '@outpost/testing', /type:util/],
    [
      'contracts importing the test helpers',
      'libs/contracts/src/index.ts',
      '@outpost/testing',
      /type:contracts/,
    ],
  ])('rejects %s', async (_case, file, target, why) => {
    // The probe is linted as the content of an existing file, so the rule knows its project.
    const errors = await boundaryErrors(file, `import * as probe from '${target}';\nexport { probe };\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(why);
  });

  it.each([
    [
      'an agent lib importing the runtime, bus and contracts',
      'libs/agents/node/src/index.ts',
      ['@outpost/agent-runtime', '@outpost/bus', '@outpost/contracts'],
    ],
    [
      'an app importing an agent lib',
      'apps/node-agent/src/main.ts',
      ['@outpost/agent-node', '@outpost/agent-runtime'],
    ],
    [
      'outpostctl importing the shared update domain and contracts',
      'apps/outpostctl/src/main.ts',
      ['@outpost/update-domain', '@outpost/contracts'],
    ],
    [
      'the orchestrator importing the shared update domain',
      'libs/agents/orchestrator/src/index.ts',
      ['@outpost/update-domain'],
    ],
    [
      "an agent lib's spec importing the test helpers",
      'libs/agents/node/src/node.agent.spec.ts',
      ['@outpost/testing', '@outpost/agent-runtime'],
    ],
    ["a shared lib's spec importing the test helpers", 'libs/bus/src/client.spec.ts', ['@outpost/testing']],
  ])('allows %s', async (_case, file, targets) => {
    const source = targets.map((t, i) => `import * as p${i} from '${t}';\nexport { p${i} };\n`).join('');
    expect(await boundaryErrors(file, source)).toEqual([]);
  });
});
