// The grants beyond the units: the polkit rules in deploy/polkit-1/rules.d, evaluated by a stand-in for
// polkitd's JavaScript host (addRule + Result + action.lookup, as polkit(8) documents them; no polkitd
// runs here), and the root-side cluster helper's refusal of untrusted requests, run for real.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runInNewContext } from 'node:vm';

const REPO = resolve(new URL('../..', import.meta.url).pathname);
type Rule = (action: unknown, subject: unknown) => string;

async function rules(file: string): Promise<Rule[]> {
  const added: Rule[] = [];
  const polkit = {
    Result: { YES: 'yes', NO: 'no', NOT_HANDLED: 'not-handled', AUTH_ADMIN: 'auth_admin' },
    addRule: (rule: Rule) => added.push(rule),
  };
  runInNewContext(await readFile(join(REPO, 'deploy/polkit-1/rules.d', file), 'utf8'), { polkit });
  return added;
}

function decide(added: Rule[], id: string, user: string, details: Record<string, string> = {}): string {
  const action = { id, lookup: (key: string) => details[key] };
  for (const rule of added) {
    const result = rule(action, { user });
    if (result !== undefined && result !== 'not-handled') return result;
  }
  return 'not-handled';
}

describe('50-outpost-update.rules', () => {
  it.each([
    ['outpost-update', 'org.freedesktop.login1.reboot', 'yes'],
    ['outpost-update', 'org.freedesktop.login1.set-reboot-to-boot-loader-entry', 'yes'],
    ['outpost-edge', 'org.freedesktop.login1.reboot-multiple-sessions', 'yes'],
    ['outpost-orchestrator', 'org.freedesktop.login1.reboot', 'not-handled'],
    ['outpost-node', 'org.freedesktop.login1.reboot', 'not-handled'],
    ['outpost-update', 'org.freedesktop.login1.power-off', 'not-handled'],
    ['outpost-update', 'org.freedesktop.systemd1.manage-units', 'not-handled'],
  ])('%s asking %s: %s', async (user, id, want) => {
    expect(decide(await rules('50-outpost-update.rules'), id, user)).toBe(want);
  });
});

describe('50-outpost-cluster.rules', () => {
  const manage = 'org.freedesktop.systemd1.manage-units';
  it.each([
    ['outpost-cluster', 'start', 'outpost-cluster-install@k3s.service', 'yes'],
    ['outpost-cluster', 'start', 'outpost-cluster-uninstall@rke2.service', 'yes'],
    ['outpost-edge', 'start', 'outpost-cluster-install@rke2.service', 'yes'],
    ['outpost-cluster', 'stop', 'outpost-cluster-install@k3s.service', 'not-handled'],
    ['outpost-cluster', 'start', 'outpost-cluster-install@evil.service', 'not-handled'],
    ['outpost-cluster', 'start', 'ssh.service', 'not-handled'],
    ['outpost-cluster', 'start', 'xoutpost-cluster-install@k3s.service', 'not-handled'],
    ['outpost-node', 'start', 'outpost-cluster-install@k3s.service', 'not-handled'],
  ])('%s: %s %s -> %s', async (user, verb, unit, want) => {
    expect(decide(await rules('50-outpost-cluster.rules'), manage, user, { verb, unit })).toBe(want);
  });
});

describe('libexec/outpost-cluster-provider refuses untrusted requests before doing anything', () => {
  let dir: string;
  const provider = join(REPO, 'deploy/libexec/outpost-cluster-provider');
  const good = {
    CLUSTER_OPERATION: 'install',
    CLUSTER_DISTRIBUTION: 'k3s',
    CLUSTER_ROLE: 'server',
    CLUSTER_JOIN_URL: '',
    CLUSTER_TOKEN_FILE: '',
    CLUSTER_NODE_ID: 'abc',
    KUBECONFIG: '/etc/rancher/k3s/k3s.yaml',
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-provider-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(request: string, args = ['install', 'k3s']): Promise<{ code: number; out: string }> {
    await writeFile(join(dir, 'request.env'), request);
    return new Promise((done) => {
      execFile(
        provider,
        args,
        {
          encoding: 'utf8',
          // An empty artifact dir: a request that passes validation stops at "install.sh missing".
          env: {
            PATH: '/usr/bin:/bin',
            OUTPOST_CLUSTER_REQUEST: join(dir, 'request.env'),
            OUTPOST_CLUSTER_ARTIFACTS: dir,
          },
        },
        (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, out: `${stdout}${stderr}` }),
      );
    });
  }
  const env = (values: Record<string, string>) =>
    Object.entries(values)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n') + '\n';

  it('accepts a well-formed request (and then needs the local installer)', async () => {
    const r = await run(env(good));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/k3s\/install.sh missing/);
  });

  it.each([
    ['an unknown variable', `${env(good)}LD_PRELOAD="/tmp/x.so"\n`, /malformed line/],
    ['a shell expansion', env({ ...good, CLUSTER_ROLE: 'server$(id)' }), /CLUSTER_ROLE=.* is not allowed/],
    ['a plain-http join URL', env({ ...good, CLUSTER_JOIN_URL: 'http://h:6443' }), /CLUSTER_JOIN_URL/],
    [
      'a token outside the secrets dir',
      env({ ...good, CLUSTER_TOKEN_FILE: '/etc/shadow' }),
      /CLUSTER_TOKEN_FILE/,
    ],
    [
      'a token path with ..',
      env({ ...good, CLUSTER_TOKEN_FILE: '/etc/outpost/cluster-secrets/../x' }),
      /not allowed/,
    ],
    ['another distribution than the instance', env({ ...good, CLUSTER_DISTRIBUTION: 'rke2' }), /is not k3s/],
    ['an agent without a server to join', env({ ...good, CLUSTER_ROLE: 'agent' }), /required/],
  ])('refuses %s', async (_what, request, message) => {
    const r = await run(request);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(message);
  });

  it('refuses an instance that is not a distribution', async () => {
    const r = await run(env(good), ['install', 'evil']);
    expect(r).toEqual({ code: 1, out: expect.stringMatching(/unknown distribution/) });
  });
});
