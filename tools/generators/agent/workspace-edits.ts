/**
 * The agent generator's edits of shared files: every place the suite lists its agents gets the new
 * one, each edit small and additive (one line or one entry), so that branches merge cleanly. An edit
 * whose anchor is missing throws: Nx then writes nothing at all, rather than half an agent.
 */
import { updateJson, type Tree } from '@nx/devkit';
import type { AgentNames } from './agent-names.ts';

/** Where the NATS permissions table ends (libs/contracts/src/permissions.ts); rows go just before it. */
export const PERMISSIONS_MARKER = '// @outpost-generator:permissions';
export const PERMISSIONS_FILE = 'libs/contracts/src/permissions.ts';

/** Registers the agent; returns notes for the user (steps skipped on purpose). */
export function registerAgent(tree: Tree, n: AgentNames): string[] {
  addAgentId(tree, n);
  addToCatalog(tree, n);
  addScopeConstraint(tree, n);
  addBuildReferences(tree, n);
  addToEdgeNode(tree, n);
  addSystemUser(tree, n);
  addEdgeNodeConflict(tree, n);
  addToCookbook(tree, n);
  addWorkspacePackages(tree, n);
  return addPermissionsRow(tree, n);
}

function edit(tree: Tree, path: string, change: (text: string) => string): void {
  const text = tree.read(path, 'utf-8');
  if (text === null) throw new Error(`${path} is missing`);
  tree.write(path, change(text));
}

/** Inserts `line` before the first match of `anchor`, with the anchor line's indentation. */
export function insertBefore(path: string, text: string, anchor: RegExp, line: string): string {
  const m = anchor.exec(text);
  if (!m) throw new Error(`${path}: cannot find ${anchor} to insert "${line.trim()}" before it`);
  const start = text.lastIndexOf('\n', m.index) + 1;
  const indent = /^[ \t]*/.exec(text.slice(start))?.[0] ?? '';
  return `${text.slice(0, start)}${indent}${line}\n${text.slice(start)}`;
}

/** Inserts `line` after the whole line holding the last match of `anchor`. */
export function insertAfterLast(path: string, text: string, anchor: RegExp, line: string): string {
  const matches = [...text.matchAll(new RegExp(anchor.source, `${anchor.flags.replace('g', '')}g`))];
  const m = matches.at(-1);
  if (!m || m.index === undefined)
    throw new Error(`${path}: cannot find ${anchor} to insert "${line.trim()}" after it`);
  const end = text.indexOf('\n', m.index + m[0].length);
  const at = end === -1 ? text.length : end + 1;
  return `${text.slice(0, at)}${line}\n${text.slice(at)}`;
}

function addAgentId(tree: Tree, n: AgentNames): void {
  const path = 'libs/contracts/src/agents.ts';
  edit(tree, path, (text) =>
    new RegExp(`^\\s*'${n.name}',$`, 'm').test(text)
      ? text
      : insertBefore(path, text, /^\] as const;/m, `  '${n.name}',`),
  );
}

function addToCatalog(tree: Tree, n: AgentNames): void {
  const registry = 'libs/contracts/src/registry.ts';
  edit(tree, registry, (text) => {
    const imported = insertAfterLast(
      registry,
      text,
      /^import \{ \w+Api \} from '\.\/apis\/[\w-]+\.api\.js';$/m,
      `import { ${n.className}Api } from './apis/${n.name}.api.js';`,
    );
    const start = imported.indexOf('export const CATALOG');
    if (start === -1) throw new Error(`${registry}: cannot find "export const CATALOG"`);
    const rest = insertBefore(registry, imported.slice(start), /^\};$/m, `  ${n.name}: ${n.className}Api,`);
    return imported.slice(0, start) + rest;
  });
  const index = 'libs/contracts/src/index.ts';
  edit(tree, index, (text) => {
    const api = insertAfterLast(
      index,
      text,
      /^export \* from '\.\/apis\/[\w-]+\.api\.js';$/m,
      `export * from './apis/${n.name}.api.js';`,
    );
    return insertAfterLast(
      index,
      api,
      /^export \* from '\.\/gen\/outpost\/[\w/]+_pb\.js';$/m,
      `export * from './gen/outpost/${n.name}/v1/${n.name}_pb.js';`,
    );
  });
}

/** eslint.config.js: the new scope may use only itself and the shared libs. */
function addScopeConstraint(tree: Tree, n: AgentNames): void {
  const path = 'eslint.config.js';
  edit(tree, path, (text) =>
    insertBefore(
      path,
      text,
      /\{ sourceTag: 'scope:suite'/,
      `{ sourceTag: 'scope:${n.name}', onlyDependOnLibsWithTags: ['scope:${n.name}', 'scope:shared'] },`,
    ),
  );
}

type References = { references?: { path: string }[] };

function addReference(tree: Tree, path: string, ref: string, after?: RegExp): void {
  updateJson<References>(tree, path, (json) => {
    const refs = (json.references ??= []);
    if (refs.some((r) => r.path === ref)) return json;
    const last = after ? refs.findLastIndex((r) => after.test(r.path)) : -1;
    refs.splice(last === -1 ? refs.length : last + 1, 0, { path: ref });
    return json;
  });
}

function addBuildReferences(tree: Tree, n: AgentNames): void {
  addReference(tree, 'tsconfig.build.json', `libs/agents/${n.name}/tsconfig.lib.json`, /^libs\/agents\//);
  addReference(tree, 'tsconfig.build.json', `apps/${n.name}-agent/tsconfig.lib.json`);
}

/** apps/edge-node runs every agent in one process: import it, list it, reference it. */
function addToEdgeNode(tree: Tree, n: AgentNames): void {
  const path = 'apps/edge-node/src/main.ts';
  edit(tree, path, (text) => {
    const imported = insertAfterLast(
      path,
      text,
      /^import \{ \w+Agent \} from '@outpost\/agent-[\w-]+';$/m,
      `import { ${n.className}Agent } from '@outpost/agent-${n.name}';`,
    );
    const list = /const agents = \[([^\]]*?),?(\s*)\];/.exec(imported);
    if (!list) throw new Error(`${path}: cannot find the list "const agents = [...]"`);
    return imported.replace(list[0], `const agents = [${list[1]}, ${n.className}Agent${list[2]}];`);
  });
  addReference(tree, 'apps/edge-node/tsconfig.lib.json', `../../libs/agents/${n.name}/tsconfig.lib.json`);
}

/**
 * docs/nats-cli.md has a sample for every catalog command, executed by test/docs/nats-cli.spec.ts (which
 * fails on a command without one): a section for the new agent, and the agent in that test's suite.
 */
function addToCookbook(tree: Tree, n: AgentNames): void {
  const doc = 'docs/nats-cli.md';
  const spec = 'test/docs/nats-cli.spec.ts';
  if (!tree.exists(doc) || !tree.exists(spec)) return;
  const section = [
    `## \`${n.name}\`: ${n.description}`,
    '',
    `Generated by \`nx g @outpost/tools:agent ${n.name}\`; replace these samples as its commands grow.`,
    '',
    '```sh',
    `nats req edge.$NODE.${n.name}.cmd.echo '{"text":"hello"}'`,
    `nats req edge.$NODE.${n.name}.cmd.status '{}'`,
    '```',
    '',
  ].join('\n');
  edit(tree, doc, (text) =>
    text.includes(`edge.$NODE.${n.name}.cmd.`) ? text : insertBefore(doc, text, /^## Errors$/m, section),
  );
  edit(tree, spec, (text) => {
    if (text.includes(`${n.className}Agent`)) return text;
    const imported = insertAfterLast(
      spec,
      text,
      /^import \{ \w+Agent \} from '@outpost\/agent-[a-z]+';$/m,
      `import { ${n.className}Agent } from '@outpost/agent-${n.name}';`,
    );
    return insertBefore(
      spec,
      imported,
      /(?<=const DEFINITIONS[^;]*)^\};$/m,
      `  ${n.name}: ${n.className}Agent,`,
    );
  });
}

/** The all-in-one unit runs the new agent too: one mode or the other, never both (Conflicts= both ways). */
function addEdgeNodeConflict(tree: Tree, n: AgentNames): void {
  const path = 'deploy/systemd/outpost-edge-node.service';
  edit(tree, path, (text) =>
    text.includes(`outpost-${n.name}-agent.service`)
      ? text
      : insertAfterLast(path, text, /^Conflicts=/m, `Conflicts=outpost-${n.name}-agent.service`),
  );
}

/** deploy/sysusers.d: the unit's User=outpost-<name>. */
function addSystemUser(tree: Tree, n: AgentNames): void {
  const path = 'deploy/sysusers.d/outpost.conf';
  edit(tree, path, (text) =>
    new RegExp(`^u\\s+outpost-${n.name}\\s`, 'm').test(text)
      ? text
      : `${text.trimEnd()}\nu     outpost-${n.name} -  "Outpost ${n.name} agent" -             -\n`,
  );
}

interface Lock {
  packages?: Record<string, Record<string, unknown>>;
}

/** package-lock.json: the two workspace packages, as `npm install` records them. */
function addWorkspacePackages(tree: Tree, n: AgentNames): void {
  if (!tree.exists('package-lock.json')) return;
  const add: Record<string, Record<string, unknown>> = {
    [`libs/agents/${n.name}`]: { name: `@outpost/agent-${n.name}`, version: '0.1.0' },
    [`apps/${n.name}-agent`]: { name: `@outpost/${n.name}-agent`, version: '0.1.0' },
    [`node_modules/@outpost/agent-${n.name}`]: { resolved: `libs/agents/${n.name}`, link: true },
    [`node_modules/@outpost/${n.name}-agent`]: { resolved: `apps/${n.name}-agent`, link: true },
  };
  updateJson<Lock>(tree, 'package-lock.json', (lock) => {
    lock.packages = sortedPackages({ ...add, ...lock.packages });
    return lock;
  });
}

/** npm's order: the root package first, then by path. */
export function sortedPackages<T>(packages: Record<string, T>): Record<string, T> {
  const keys = Object.keys(packages).sort((a, b) =>
    a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en'),
  );
  return Object.fromEntries(keys.map((k) => [k, packages[k]]));
}

/**
 * The NATS permissions table, when the workspace has one: a minimal row keyed by the agent id, just
 * before the marker line. Its full shape is the table's business; the row names the agent's own
 * subject tree, which every agent needs.
 */
function addPermissionsRow(tree: Tree, n: AgentNames): string[] {
  const text = tree.read(PERMISSIONS_FILE, 'utf-8');
  if (text === null)
    return [`${PERMISSIONS_FILE} does not exist yet: no NATS permissions row was added for ${n.name}.`];
  if (!text.includes(PERMISSIONS_MARKER))
    return [`${PERMISSIONS_FILE} has no "${PERMISSIONS_MARKER}" line: add the ${n.name} row by hand.`];
  if (new RegExp(`^\\s*'?${n.name}'?:`, 'm').test(text)) return [];
  tree.write(
    PERMISSIONS_FILE,
    insertBefore(PERMISSIONS_FILE, text, new RegExp(PERMISSIONS_MARKER), permissionsRow(n)),
  );
  return [`${PERMISSIONS_FILE}: added a minimal row for ${n.name}; check it grants what the agent needs.`];
}

/**
 * The row for a new agent: its own subjects, status key and inbox only (implied by every row), nothing of
 * other agents. Widen it when the agent calls, listens to or reads what belongs to another agent:
 * test/security/permission-table.spec.ts fails until the row matches the agent's code.
 */
export function permissionsRow(n: AgentNames): string {
  return `${n.name}: { calls: [], listens: [], kv: [] },`;
}
