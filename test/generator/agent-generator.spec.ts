/**
 * `npx nx g @outpost/tools:agent <name>` in a copy of this workspace, through the real Nx CLI, and
 * then everything CI runs on the result, untouched: the whole lint (lock, buf lint and generated code
 * up to date, the Nx graph, ESLint and Prettier on the workspace), the type check, the build, the
 * new agent's own tests on a real nats-server, the systemd checks of its unit, and the
 * edge-node process answering on the new agent's subjects. One generator run for the whole file.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { copyWorkspace, WORKSPACE, type WorkspaceCopy } from './workspace-copy.js';

const AGENT = 'probe';
const SLOW = 10 * 60_000;

/** Every file the generator creates (the templates) and changes (the registrations). */
const CREATED = [
  `libs/agents/${AGENT}/package.json`,
  `libs/agents/${AGENT}/tsconfig.lib.json`,
  `libs/agents/${AGENT}/src/index.ts`,
  `libs/agents/${AGENT}/src/${AGENT}.agent.ts`,
  `libs/agents/${AGENT}/src/${AGENT}.module.ts`,
  `libs/agents/${AGENT}/src/${AGENT}.service.ts`,
  `libs/agents/${AGENT}/src/${AGENT}.agent.spec.ts`,
  `libs/agents/${AGENT}/src/config/${AGENT}.settings.ts`,
  `libs/agents/${AGENT}/src/domain/echo.ts`,
  `libs/agents/${AGENT}/src/domain/echo.spec.ts`,
  `libs/agents/${AGENT}/src/handlers/${AGENT}-commands.handler.ts`,
  `libs/agents/${AGENT}/src/state/${AGENT}-state.store.ts`,
  `apps/${AGENT}-agent/package.json`,
  `apps/${AGENT}-agent/tsconfig.lib.json`,
  `apps/${AGENT}-agent/src/main.ts`,
  `proto/outpost/${AGENT}/v1/${AGENT}.proto`,
  `libs/contracts/src/apis/${AGENT}.api.ts`,
  `libs/contracts/src/gen/outpost/${AGENT}/v1/${AGENT}_pb.ts`,
  `deploy/systemd/outpost-${AGENT}-agent.service`,
  `deploy/systemd/outpost-${AGENT}-agent.service.budget`,
];
const CHANGED = [
  'libs/contracts/src/agents.ts',
  'libs/contracts/src/registry.ts',
  'libs/contracts/src/index.ts',
  'eslint.config.js',
  'tsconfig.build.json',
  'apps/edge-node/src/main.ts',
  'apps/edge-node/tsconfig.lib.json',
  'deploy/sysusers.d/outpost.conf',
  'package-lock.json',
  'libs/contracts/src/permissions.ts',
  'docs/security.md',
  'deploy/systemd/outpost-edge-node.service',
  'docs/nats-cli.md',
  'test/docs/nats-cli.spec.ts',
];

describe(`nx g @outpost/tools:agent ${AGENT}, in a copy of the workspace`, () => {
  let ws: WorkspaceCopy;
  let generated: { code: number; output: string };
  const read = (path: string) => readFileSync(join(ws.root, path), 'utf8');

  /** A step of `npm test`, failing with its output. */
  async function passes(bin: string, args: string[]): Promise<void> {
    const result = await ws.run(bin, args);
    expect({ step: [bin, ...args].join(' '), ...result }).toEqual({
      step: [bin, ...args].join(' '),
      code: 0,
      output: result.output,
    });
  }

  beforeAll(async () => {
    ws = await copyWorkspace();
    generated = await ws.run('nx', ['g', '@outpost/tools:agent', AGENT, '--no-interactive']);
  }, SLOW);

  afterAll(async () => {
    await ws?.remove();
  });

  it('generates, runs buf generate and says what is next', () => {
    expect(generated.output).toMatch(new RegExp(`The ${AGENT} agent is ready`));
    expect(generated.code).toBe(0);
    expect(CREATED.filter((f) => !existsSync(join(ws.root, f)))).toEqual([]);
  });

  it('registers the agent: id, catalog, scope, build, edge-node, system user, workspace packages', () => {
    expect(read('libs/contracts/src/agents.ts')).toContain(`'${AGENT}',`);
    expect(read('libs/contracts/src/registry.ts')).toMatch(
      /import \{ ProbeApi \}[^]*\n {2}probe: ProbeApi,\n\};/,
    );
    expect(read('libs/contracts/src/index.ts')).toContain(
      `export * from './gen/outpost/${AGENT}/v1/${AGENT}_pb.js';`,
    );
    expect(read('eslint.config.js')).toContain(`sourceTag: 'scope:${AGENT}'`);
    expect(read('tsconfig.build.json')).toContain(`"apps/${AGENT}-agent/tsconfig.lib.json"`);
    expect(read('apps/edge-node/src/main.ts')).toMatch(
      /import \{ ProbeAgent \} from '@outpost\/agent-probe';[^]*ProbeAgent,?\s*\];/,
    );
    expect(read('deploy/sysusers.d/outpost.conf')).toMatch(new RegExp(`^u\\s+outpost-${AGENT}\\s`, 'm'));
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, unknown> };
    expect(lock.packages[`node_modules/@outpost/agent-${AGENT}`]).toEqual({
      resolved: `libs/agents/${AGENT}`,
      link: true,
    });
    // Linked like npm links workspace packages, inside the copy.
    expect(realpathSync(join(ws.root, `node_modules/@outpost/agent-${AGENT}`))).toBe(
      realpathSync(join(ws.root, `libs/agents/${AGENT}`)),
    );
  });

  it('adds its NATS permissions row and renders it into docs/security.md', () => {
    expect(generated.output).toMatch(/permissions\.ts: added a minimal row for probe/);
    expect(read('libs/contracts/src/permissions.ts')).toContain('probe: { calls: [], listens: [], kv: [] },');
    expect(read('docs/security.md')).toMatch(/\|\s*`?probe`?\s*\|/);
  });

  it('refuses to generate the same agent twice', async () => {
    const again = await ws.run('nx', ['g', '@outpost/tools:agent', AGENT, '--no-interactive', '--dry-run']);
    expect(again.code).not.toBe(0);
    expect(again.output).toMatch(/the agent "probe" exists already/);
  });

  it('changes each shared file it registers the agent in', () => {
    const unchanged = CHANGED.filter((f) => read(f) === readFileSync(join(WORKSPACE, f), 'utf8'));
    expect(unchanged).toEqual([]);
  });

  it(
    'passes lint as `npm run lint` runs it: lock, contracts, Nx graph, ESLint on everything, Prettier',
    async () => {
      await passes('node', ['tools/scripts/lock-platforms.mjs', '--check']);
      await passes('node', ['tools/scripts/proto-check.mjs']);
      await passes('nx', ['show', 'projects']);
      await passes('eslint', ['.', '--max-warnings=0']);
      await passes('prettier', ['--check', '.']);
    },
    SLOW,
  );

  it(
    'type-checks and builds',
    async () => {
      await passes('tsc', ['-p', 'tsconfig.json', '--noEmit']);
      await passes('tsc', ['-b', 'tsconfig.build.json']);
      expect(existsSync(join(ws.root, `apps/${AGENT}-agent/dist/main.js`))).toBe(true);
    },
    SLOW,
  );

  it(
    "passes the new agent's own tests and the systemd checks of its unit",
    async () => {
      const result = await ws.run('node', [
        '--experimental-vm-modules',
        '--disable-warning=ExperimentalWarning',
        'node_modules/jest/bin/jest.js',
        '--verbose',
        `libs/agents/${AGENT}`,
        // The unit checks (verify, exposure budget); the install test runs at the top level, where it
        // installs the same bundle layout (a nested install doubled the suite's time on a loaded machine).
        'test/deploy/systemd-units.spec.ts',
        'test/security/permission-table.spec.ts',
        'test/security/security-doc.spec.ts',
        'test/docs/nats-cli.spec.ts',
      ]);
      expect(result.output).toMatch(/Tests:\s+\d+ passed, \d+ total/);
      expect(result.output).toContain(`outpost-${AGENT}-agent.service stays within its exposure budget`);
      expect(result.code).toBe(0);
    },
    SLOW,
  );

  describe('the built edge-node', () => {
    let nats: NatsServerHandle;
    let nc: NatsConnection;
    let dir: string;

    beforeAll(async () => {
      nats = await startNatsServer();
      nc = await connectTo(nats);
      dir = await mkdtemp(join(tmpdir(), 'outpost-gen-edge-'));
    });

    afterAll(async () => {
      await nc?.close();
      await nats?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it(
      `runs the ${AGENT} agent with the others and answers on its subjects`,
      async () => {
        const app = spawn(process.execPath, [join(ws.root, 'apps/edge-node/dist/main.js')], {
          cwd: ws.root,
          env: { ...process.env, ...simulatedNodeEnv(dir, nats.url) },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        app.stdout.on('data', (d: Buffer) => (output += d.toString()));
        app.stderr.on('data', (d: Buffer) => (output += d.toString()));
        const exited = new Promise((resolve) => app.once('exit', resolve));
        try {
          const nodeId = await eventually(() => {
            const m = /"node":"([0-9a-f]{16})"/.exec(output);
            if (!m) throw new Error(`no node id logged yet:\n${output}`);
            return m[1];
          });
          const reply = await eventually(async () => {
            const m = await nc.request(`edge.${nodeId}.${AGENT}.cmd.echo`, '{"text":"hello"}', {
              timeout: 1000,
            });
            return JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
          });
          expect(reply).toMatchObject({ text: 'hello', sequence: '1' });
          await eventually(async () => {
            const m = await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 1000 });
            const health = JSON.parse(new TextDecoder().decode(m.data)) as {
              agents: { agent: string; state: string }[];
            };
            expect(health.agents.find((a) => a.agent === AGENT)?.state).toBe('AGENT_STATE_READY');
          });
        } finally {
          app.kill('SIGTERM');
          await exited;
        }
      },
      SLOW,
    );
  });
});
