/**
 * The agent generator on this very workspace, in memory (Nx's FsTree reads the real files and keeps
 * every change to itself): what it refuses, and the NATS permissions step in its three cases. The
 * whole round trip through the Nx CLI, lint, build and tests is test/generator/agent-generator.spec.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { FsTree } from '@nx/devkit/internal';
import { agentGenerator } from './generator.ts';
import { PERMISSIONS_FILE, PERMISSIONS_MARKER } from './workspace-edits.ts';

const root = new URL('../../..', import.meta.url).pathname;
const tree = () => new FsTree(root, false);
const options = { skipFormat: true, skipInstall: true };

const TABLE = `export const PERMISSIONS = {
  node: { publish: ['node.>'], subscribe: ['node.>'] },
  ${PERMISSIONS_MARKER}
} as const;
`;

describe('agent generator', () => {
  it.each([
    ['two words', 'disk-guard', /must be one lower-case word/],
    ['an upper-case letter', 'Uptime', /must be one lower-case word/],
    ['a leading digit', '9lives', /must be one lower-case word/],
    ['a subject wildcard', 'up>', /must be one lower-case word/],
  ])('refuses a name with %s', async (_case, name, why) => {
    await expect(agentGenerator(tree(), { name, ...options })).rejects.toThrow(why);
  });

  it('refuses a description that would break the quoted strings it lands in', async () => {
    await expect(
      agentGenerator(tree(), { name: 'probe', description: "it's quoted", ...options }),
    ).rejects.toThrow(/one line without quotes/);
  });

  it('refuses an agent that exists already', async () => {
    await expect(agentGenerator(tree(), { name: 'telemetry', ...options })).rejects.toThrow(
      /the agent "telemetry" exists already/,
    );
  });

  it('adds a minimal permissions row just before the marker, keyed by the agent id', async () => {
    const t = tree();
    t.write(PERMISSIONS_FILE, TABLE);
    await agentGenerator(t, { name: 'probe', ...options });
    expect(t.read(PERMISSIONS_FILE, 'utf-8')).toBe(
      TABLE.replace(
        `  ${PERMISSIONS_MARKER}`,
        `  probe: { calls: [], listens: [], kv: [] },\n  ${PERMISSIONS_MARKER}`,
      ),
    );
  });

  it('leaves a permissions file without the marker alone', async () => {
    const t = tree();
    const table = TABLE.replace(`  ${PERMISSIONS_MARKER}\n`, '');
    t.write(PERMISSIONS_FILE, table);
    await agentGenerator(t, { name: 'probe', ...options });
    expect(t.read(PERMISSIONS_FILE, 'utf-8')).toBe(table);
  });

  it('writes nothing when the permissions file is missing, and changes only what it lists', async () => {
    const t = tree();
    t.delete(PERMISSIONS_FILE);
    await agentGenerator(t, { name: 'probe', ...options });
    expect(t.exists(PERMISSIONS_FILE)).toBe(false);
    const changes = t.listChanges().filter((c) => c.path !== PERMISSIONS_FILE);
    expect(changes.every((c) => c.type !== 'DELETE')).toBe(true);
    expect(
      changes
        .filter((c) => c.type === 'UPDATE')
        .map((c) => c.path)
        .sort(),
    ).toEqual([
      'apps/edge-node/src/main.ts',
      'apps/edge-node/tsconfig.lib.json',
      'deploy/systemd/outpost-edge-node.service',
      'deploy/sysusers.d/outpost.conf',
      'docs/nats-cli.md',
      'eslint.config.js',
      'libs/contracts/src/agents.ts',
      'libs/contracts/src/index.ts',
      'libs/contracts/src/registry.ts',
      'package-lock.json',
      'test/docs/nats-cli.spec.ts',
      'tsconfig.build.json',
    ]);
    expect(changes.filter((c) => c.type === 'CREATE').every((c) => /probe/.test(c.path))).toBe(true);
  });
});
