/**
 * The permission table against the agents' code: every other agent's command an agent requests, every
 * other agent's event or status it listens to, and every KV key it names (kvKeys.*) must be granted by
 * its row in AGENT_PERMISSIONS. Read from the sources, so a new request or key without a row fails here
 * before it fails on a node (where test/security/nats-permissions.spec.ts proves the same at run time).
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as contracts from '@outpost/contracts';
import {
  AGENT_PERMISSIONS,
  ALL_STATUSES,
  HUB_SERVICE_IDS,
  isAgentId,
  isHubServiceId,
  KV_DESIRED,
  kvKeys,
  type AgentApi,
  type AgentId,
  type HubServiceId,
  type ServiceId,
} from '@outpost/contracts';
import { HUB_SERVICE_PERMISSIONS } from '@outpost/nats-config';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const AGENTS_DIR = join(ROOT, 'libs', 'agents');
const NODE = 'n1';

function sources(dir: string): string {
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .flatMap((path) => {
      if (statSync(path).isDirectory()) return [sources(path)];
      return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [readFileSync(path, 'utf8')] : [];
    })
    .join('\n');
}

/** The catalog APIs by their exported name (NodeApi, UpdateApi, ...). */
const APIS = new Map<string, AgentApi>();
for (const [name, value] of Object.entries(contracts as Record<string, unknown>)) {
  if (
    name.endsWith('Api') &&
    typeof value === 'object' &&
    value !== null &&
    'cmd' in value &&
    'evt' in value
  ) {
    APIS.set(name, value as AgentApi);
  }
}

/** Whether a granted subject (with * and > wildcards) covers a used one (whose * must meet a wildcard). */
export function covers(granted: string, used: string): boolean {
  const g = granted.split('.');
  const u = used.split('.');
  for (let i = 0; i < g.length; i++) {
    if (g[i] === '>') return u.length > i;
    if (i >= u.length) return false;
    if (g[i] !== '*' && g[i] !== u[i]) return false;
  }
  return g.length === u.length;
}

/** The key a kvKeys call names: literals as written, the node id for a node id, samples for the rest. */
function sampleKey(fn: string, args: string): string {
  const builder = (kvKeys as Record<string, (...a: unknown[]) => string>)[fn];
  if (!builder) throw new Error(`kvKeys.${fn} does not exist`);
  const parts = args
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const values = parts.map((a) => {
    const literal = /^'([^']*)'$/.exec(a);
    if (literal) return literal[1];
    if (/nodeId/i.test(a)) return NODE;
    return /slot|index/i.test(a) ? 0 : 'sample';
  });
  return builder(...values);
}

interface Use {
  calls: Set<string>;
  listens: Set<string>;
  keys: Set<string>;
}

function usesOf(agent: ServiceId, code: string): Use {
  const use: Use = { calls: new Set(), listens: new Set(), keys: new Set() };
  for (const [, api, verb] of code.matchAll(/(\w+Api)\.cmd\.(\w+)/g)) {
    const def = APIS.get(api)?.cmd[verb];
    if (!def) throw new Error(`${agent} names ${api}.cmd.${verb}, which the catalog does not have`);
    if (def.agent !== agent) use.calls.add(def.pattern);
  }
  for (const [, api, name] of code.matchAll(/(\w+Api)\.evt\.(\w+)/g)) {
    const def = APIS.get(api)?.evt[name];
    if (!def) throw new Error(`${agent} names ${api}.evt.${name}, which the catalog does not have`);
    if (def.agent !== agent) use.listens.add(def.pattern);
  }
  if (/wildcards\.statuses\(/.test(code)) use.listens.add(ALL_STATUSES);
  for (const [, fn, args] of code.matchAll(/kvKeys\.(\w+)\(([^()]*(?:\([^()]*\)[^()]*)*)\)/g)) {
    use.keys.add(sampleKey(fn, args.replace(/this\.\w+\.nodeId|\w+\.nodeId/g, 'nodeId')));
  }
  return use;
}

const libDirs = readdirSync(AGENTS_DIR).filter((d) => statSync(join(AGENTS_DIR, d, 'src')).isDirectory());
// Hub services (fleet, enrolment) run on the hub, not on a node: their NATS users and permissions are
// the hub's accounts (@outpost/nats-config hub-accounts), not rows of the node's table.
const hubDirs: string[] = libDirs.filter((d) => isHubServiceId(d));
const agentDirs = libDirs.filter((d) => !hubDirs.includes(d));

describe('the permission table grants what the agents do', () => {
  it('has no row for a hub service, which is no node agent; the hub accounts give each its user', () => {
    expect([...hubDirs].sort()).toEqual([...HUB_SERVICE_IDS].sort());
    for (const dir of hubDirs) {
      expect(isAgentId(dir)).toBe(false);
      expect(Object.keys(AGENT_PERMISSIONS)).not.toContain(dir);
      expect(HUB_SERVICE_PERMISSIONS[dir as HubServiceId].pub?.allow?.length).toBeGreaterThan(0);
    }
  });

  it("the fleet service's hub user may write every node key its code names, in that node's domain", () => {
    const use = usesOf('fleet', sources(join(AGENTS_DIR, 'fleet', 'src')));
    expect(use.keys).toEqual(new Set([`${NODE}.update`]));
    const granted = HUB_SERVICE_PERMISSIONS.fleet.pub?.allow ?? [];
    for (const key of use.keys)
      expect(granted.some((g) => covers(g, `$JS.${NODE}.API.$KV.${KV_DESIRED}.${key}`))).toBe(true);
  });

  it('has a row for every agent lib', () => {
    for (const dir of agentDirs) {
      expect(isAgentId(dir)).toBe(true);
      expect(AGENT_PERMISSIONS[dir as AgentId]).toBeDefined();
    }
  });

  it.each(agentDirs)('%s: every request, subscription and KV key in its code is granted', (dir) => {
    const agent = dir as AgentId;
    const row = AGENT_PERMISSIONS[agent];
    const use = usesOf(agent, sources(join(AGENTS_DIR, dir, 'src')));
    for (const call of use.calls)
      expect({ agent, call, granted: row.calls.includes(call as never) }).toEqual({
        agent,
        call,
        granted: true,
      });
    for (const listen of use.listens) {
      expect({ agent, listen, granted: row.listens.includes(listen as never) }).toEqual({
        agent,
        listen,
        granted: true,
      });
    }
    const grants = [kvKeys.status(NODE, agent), ...row.kv.map((g) => g.key.replaceAll('{node}', NODE))];
    for (const key of use.keys) {
      expect({ agent, key, granted: grants.some((g) => covers(g, key)) }).toEqual({
        agent,
        key,
        granted: true,
      });
    }
  });

  it('finds what it looks for (the scan itself is checked on the orchestrator)', () => {
    const use = usesOf('orchestrator', sources(join(AGENTS_DIR, 'orchestrator', 'src')));
    expect(use.calls).toContain('update.cmd.install');
    expect(use.calls).toContain('node.cmd.health');
    expect(use.listens).toContain('update.evt.state');
    expect(use.keys).toContain(`${NODE}.update`);
    expect(use.keys).toContain('rollout.sample.lease-0');
  });

  it('grants nothing the code does not use (no stale rows)', () => {
    for (const dir of agentDirs) {
      const agent = dir as AgentId;
      const row = AGENT_PERMISSIONS[agent];
      const use = usesOf(agent, sources(join(AGENTS_DIR, dir, 'src')));
      expect({ agent, calls: [...row.calls].sort() }).toEqual({ agent, calls: [...use.calls].sort() });
      expect({ agent, listens: [...row.listens].sort() }).toEqual({
        agent,
        listens: [...use.listens].sort(),
      });
      for (const grant of row.kv) {
        const key = grant.key.replaceAll('{node}', NODE);
        const used = [...use.keys].some((k) => covers(key, k));
        expect({ agent, key: grant.key, used }).toEqual({ agent, key: grant.key, used: true });
      }
    }
  });
});

describe('covers', () => {
  it.each([
    ['n1.*', 'n1.node', true],
    ['n1.*', 'n1.*', true],
    ['n1.*', 'n1.node.health', false],
    ['rollout.*.*', 'rollout.g.lease-0', true],
    ['n1.>', 'n1.a.b', true],
    ['n1.node.health', 'n1.*', false],
  ])('%s covers %s: %s', (granted, used, expected) => {
    expect(covers(granted, used)).toBe(expected);
  });
});
