// The grants beyond the units: the polkit rules in deploy/polkit-1/rules.d, evaluated by a stand-in for
// polkitd's JavaScript host (addRule + Result + action.lookup, as polkit(8) documents them; no polkitd
// runs here), and the root-side cluster helper's refusal of untrusted requests, run for real.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
    // The one-shot goes through the boot helper: logind's SetRebootToBootLoaderEntry is not granted.
    ['outpost-update', 'org.freedesktop.login1.set-reboot-to-boot-loader-entry', 'not-handled'],
    ['outpost-edge', 'org.freedesktop.login1.reboot-multiple-sessions', 'yes'],
    ['outpost-orchestrator', 'org.freedesktop.login1.reboot', 'not-handled'],
    ['outpost-node', 'org.freedesktop.login1.reboot', 'not-handled'],
    ['outpost-update', 'org.freedesktop.login1.power-off', 'not-handled'],
    ['outpost-update', 'org.freedesktop.systemd1.manage-units', 'not-handled'],
  ])('%s asking %s: %s', async (user, id, want) => {
    expect(decide(await rules('50-outpost-update.rules'), id, user)).toBe(want);
  });

  const manage = 'org.freedesktop.systemd1.manage-units';
  it.each([
    ['outpost-update', 'start', 'outpost-boot@write.service', 'yes'],
    ['outpost-update', 'start', 'outpost-boot@oneshot.service', 'yes'],
    ['outpost-edge', 'start', 'outpost-boot@rename.service', 'yes'],
    ['outpost-update', 'start', 'outpost-boot@remove.service', 'yes'],
    ['outpost-update', 'stop', 'outpost-boot@write.service', 'not-handled'],
    ['outpost-update', 'start', 'outpost-boot@shell.service', 'not-handled'],
    ['outpost-update', 'start', 'outpost-boot@write.service.d', 'not-handled'],
    ['outpost-update', 'start', 'outpost-cluster-install@k3s.service', 'not-handled'],
    ['outpost-orchestrator', 'start', 'outpost-boot@write.service', 'not-handled'],
    ['outpost-cluster', 'start', 'outpost-boot@oneshot.service', 'not-handled'],
  ])('%s: %s %s -> %s', async (user, verb, unit, want) => {
    expect(decide(await rules('50-outpost-update.rules'), manage, user, { verb, unit })).toBe(want);
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

describe('libexec/outpost-boot-helper refuses untrusted requests before touching the ESP', () => {
  let dir: string;
  const helper = join(REPO, 'deploy/libexec/outpost-boot-helper');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-boot-helper-'));
    await mkdir(join(dir, 'esp/loader/entries'), { recursive: true });
    await writeFile(join(dir, 'cmdline'), 'root=PARTLABEL=rootfs_a rw\n');
    // bootctl stand-in (no EFI variables here): records what it was asked.
    await writeFile(join(dir, 'bootctl'), `#!/bin/sh\necho "$@" >${join(dir, 'bootctl.log')}\n`);
    await chmod(join(dir, 'bootctl'), 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(request: string, op: string): Promise<{ code: number; out: string }> {
    await writeFile(join(dir, 'request.env'), request);
    return new Promise((done) => {
      execFile(
        helper,
        [op],
        {
          encoding: 'utf8',
          env: {
            PATH: '/usr/bin:/bin',
            OUTPOST_BOOT_REQUEST: join(dir, 'request.env'),
            OUTPOST_BOOT_SOURCES: dir,
            OUTPOST_BOOT_CMDLINE: join(dir, 'cmdline'),
            OUTPOST_ESP_DIR: join(dir, 'esp'),
            OUTPOST_BOOTCTL: join(dir, 'bootctl'),
          },
        },
        (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, out: `${stdout}${stderr}` }),
      );
    });
  }

  it('sets the one-shot to an Outpost entry with its counter, and clears it', async () => {
    expect(await run('OP="oneshot"\nVALUE="outpost-b+3.conf"\n', 'oneshot')).toMatchObject({ code: 0 });
    expect(await readFile(join(dir, 'bootctl.log'), 'utf8')).toBe('set-oneshot outpost-b+3.conf\n');
    expect(await run('OP="oneshot"\nVALUE=""\n', 'oneshot')).toMatchObject({ code: 0 });
  });

  it.each([
    ['an unknown operation', 'OP="shell"\n', 'shell', /unknown operation/],
    ['a request for another operation', 'OP="remove"\nPATH="outpost/b/vmlinuz"\n', 'write', /not 'write'/],
    ['an unknown key', 'OP="oneshot"\nVALUE=""\nLD_PRELOAD="/tmp/x.so"\n', 'oneshot', /malformed line/],
    ['a shell expansion', 'OP="oneshot"\nVALUE="$(id)"\n', 'oneshot', /not an Outpost entry/],
    ['a one-shot to another OS', 'OP="oneshot"\nVALUE="windows.conf"\n', 'oneshot', /not an Outpost entry/],
    [
      'a path outside the ESP',
      'OP="remove"\nPATH="../../etc/passwd"\n',
      'remove',
      /not a file Outpost may write/,
    ],
    [
      'the boot loader',
      'OP="remove"\nPATH="EFI/BOOT/BOOTX64.EFI"\n',
      'remove',
      /not a file Outpost may write/,
    ],
    ["the running slot's kernel", 'OP="remove"\nPATH="outpost/a/vmlinuz"\n', 'remove', /running slot a/],
    [
      'a rename to another entry',
      'OP="rename"\nFROM="loader/entries/outpost-b+3.conf"\nTO="loader/entries/outpost-a.conf"\n',
      'rename',
      /boot counter only/,
    ],
  ])('refuses %s', async (_name, request, op, message) => {
    const r = await run(request, op);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(message);
  });
});
