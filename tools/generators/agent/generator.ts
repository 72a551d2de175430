/**
 * `npx nx g @outpost/tools:agent <name>`: a new agent, ready to build, test and run. It writes the
 * feature lib, the thin app, the proto, the catalog entry and the systemd unit from the templates in
 * files/, then registers the agent everywhere the suite lists its agents (workspace-edits.ts), and
 * finally runs `buf generate` and links the two new workspace packages into node_modules.
 *
 * Loaded by Nx as TypeScript through Node's own type stripping (Node 24): only erasable syntax here,
 * no enums, no parameter properties, and relative imports name the .ts file.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatFiles, generateFiles, logger, type GeneratorCallback, type Tree } from '@nx/devkit';
import { agentNames, type AgentGeneratorOptions, type AgentNames } from './agent-names.ts';
import { registerAgent } from './workspace-edits.ts';

const TEMPLATES = fileURLToPath(new URL('./files', import.meta.url));

export async function agentGenerator(tree: Tree, options: AgentGeneratorOptions): Promise<GeneratorCallback> {
  const n = agentNames(options);
  if (tree.exists(`libs/agents/${n.name}`) || tree.exists(`apps/${n.name}-agent`))
    throw new Error(`the agent "${n.name}" exists already (libs/agents/${n.name} or apps/${n.name}-agent)`);

  generateFiles(tree, TEMPLATES, '.', { ...n, tmpl: '' });
  const notes = registerAgent(tree, n);
  if (!options.skipFormat) await formatFiles(tree);

  return () => {
    for (const note of notes) logger.warn(note);
    if (options.skipInstall) return;
    generateContracts(tree.root);
    linkPackages(tree.root, n);
    renderSecurityDoc(tree.root);
    logger.info(nextSteps(n));
  };
}

export default agentGenerator;

/** `buf generate` from node_modules, as `npm run proto:gen` does: the new proto's TypeScript in contracts. */
function generateContracts(root: string): void {
  const bin = join(root, 'node_modules/.bin');
  execFileSync(join(bin, 'buf'), ['generate'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
  });
}

/**
 * docs/security.md carries the permission table rendered from libs/contracts (a test keeps it current):
 * build the two libs the renderer reads, then render the table with the new row.
 */
function renderSecurityDoc(root: string): void {
  const bin = join(root, 'node_modules/.bin');
  const run = (file: string, args: string[]) => execFileSync(file, args, { cwd: root, stdio: 'inherit' });
  run(join(bin, 'tsc'), ['-b', 'libs/contracts/tsconfig.lib.json', 'libs/nats-config/tsconfig.lib.json']);
  run(process.execPath, ['tools/scripts/security-doc.mjs']);
}

/** What `npm install` does for a new workspace package, so the workspace works before the next install. */
function linkPackages(root: string, n: AgentNames): void {
  const scope = join(root, 'node_modules/@outpost');
  mkdirSync(scope, { recursive: true });
  const links: [string, string][] = [
    [`agent-${n.name}`, `../../libs/agents/${n.name}`],
    [`${n.name}-agent`, `../../apps/${n.name}-agent`],
  ];
  for (const [link, target] of links)
    if (!lstatSync(join(scope, link), { throwIfNoEntry: false })) symlinkSync(target, join(scope, link));
}

function nextSteps(n: AgentNames): string {
  const steps: [string, string][] = [
    [`npm run test:unit -- libs/agents/${n.name}`, 'its tests, on a real nats-server'],
    ['npm run build && npm start', `edge-node runs ${n.className}Agent with the others`],
    [`proto/outpost/${n.name}/v1/${n.name}.proto`, 'add a command here, then npm run proto:gen'],
  ];
  const width = Math.max(...steps.map(([step]) => step.length)) + 2;
  return [
    `The ${n.name} agent is ready. Next:`,
    ...steps.map(([step, why]) => `  ${step.padEnd(width)}${why}`),
    'A walk through all of it: docs/new-agent.md',
  ].join('\n');
}
