/**
 * The cluster agent on a real nats-server, started by the runtime as edge-node does, driven by KV puts
 * and plain NATS requests. Its provider is the real ExecFileClusterProvider running the fixture
 * scripts in ../fixtures/fake-distribution (a Kubernetes install cannot run here): they take a little
 * time, write a kubeconfig and a readiness marker, and fail or stall on control files.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kvm, type KV } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { KV_DESIRED, KV_STATUS } from '@outpost/contracts';
import { JsonLogger, readJson, startSuite, writeJsonAtomic, type RunningSuite } from '@outpost/agent-runtime';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { ClusterAgent } from './cluster.agent.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/fake-distribution/', import.meta.url));
const NODE = 'cluster-test-node';
const DESIRED_KEY = `${NODE}.cluster`;
const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data));

interface StateEvent {
  from: string;
  to: string;
  reason: string;
  attempts: number;
  at: string;
  nextRetryAt?: string;
  sequence: string;
}

const present = {
  presence: 'PRESENCE_PRESENT',
  distribution: 'DISTRIBUTION_K3S',
  role: 'CLUSTER_ROLE_AGENT',
  joinUrl: 'https://10.20.30.40:6443',
  tokenRef: 'k3s-join',
};
const absent = { presence: 'PRESENCE_ABSENT' };

describe('cluster agent on a real bus', () => {
  let nats: NatsServerHandle;
  let dir: string;
  let rancher: string;
  let suite: RunningSuite | undefined;
  let nc: NatsConnection;
  let desiredKv: KV;
  let statusKv: KV;
  const events: StateEvent[] = [];
  const statuses: { state: string; reasons: string[] }[] = [];

  function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return simulatedNodeEnv(dir, nats.url, {
      OUTPOST_NODE_ID: NODE,
      OUTPOST_STATUS_INTERVAL_MS: '200',
      ...extra,
    });
  }
  async function start(extra: NodeJS.ProcessEnv = {}): Promise<void> {
    suite = await startSuite([ClusterAgent], {
      env: env(extra),
      logger: new JsonLogger({ agent: 'cluster' }, 'error'),
    });
  }
  async function request(verb: string, body = '{}') {
    return nc.request(`edge.${NODE}.cluster.cmd.${verb}`, body, { timeout: 5000 });
  }
  const status = async () => json(await request('status'));
  const put = (value: unknown) =>
    desiredKv.put(DESIRED_KEY, typeof value === 'string' ? value : JSON.stringify(value));
  const transitions = (since: number) =>
    events.slice(since).map((e) => `${e.from}>${e.to}`.replace(/CLUSTER_STATE_/g, ''));
  const flag = (name: string, content = '') => writeFile(join(rancher, name), content);
  const unflag = (name: string) => rm(join(rancher, name), { force: true });
  const calls = async () =>
    (await readFile(join(rancher, 'calls.log'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'outpost-cluster-'));
    rancher = join(dir, 'rancher', 'k3s');
    await mkdir(rancher, { recursive: true });
    await mkdir(join(dir, 'config'), { recursive: true });
    await mkdir(join(dir, 'secrets'), { recursive: true });
    await writeFile(join(dir, 'secrets', 'k3s-join'), 'K10-not-a-real-token\n', { mode: 0o600 });
    for (const script of ['install', 'uninstall', 'probe']) await chmod(join(FIXTURES, script), 0o755);
    await writeFile(
      join(dir, 'config', 'cluster.json'),
      JSON.stringify({
        k3sInstaller: join(FIXTURES, 'install'),
        k3sInstallerArgs: ['--from-outpost'],
        k3sUninstaller: join(FIXTURES, 'uninstall'),
        k3sKubeconfig: join(rancher, 'k3s.yaml'),
        k3sReadinessProbe: [join(FIXTURES, 'probe')],
        secretsDir: join(dir, 'secrets'),
        probeIntervalMs: 100,
        retryInitialMs: 300,
        retryMaxMs: 1200,
        retryFactor: 2,
      }),
    );
    nc = await connectTo(nats);
    nc.subscribe(`edge.${NODE}.cluster.evt.state`, { callback: (_e, m) => void events.push(json(m)) });
    nc.subscribe(`edge.${NODE}.cluster.status`, { callback: (_e, m) => void statuses.push(json(m)) });
    await nc.flush();
    await start();
    desiredKv = await new Kvm(nc).open(KV_DESIRED);
    statusKv = await new Kvm(nc).open(KV_STATUS);
  });

  afterAll(async () => {
    await suite?.stop('test done');
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts INACTIVE and READY with no desired state', async () => {
    const s = await status();
    expect(s).toMatchObject({
      nodeId: NODE,
      state: 'CLUSTER_STATE_INACTIVE',
      readiness: 'CLUSTER_READINESS_UNKNOWN',
    });
    expect(s.desired).toBeUndefined();
    await eventually(() => expect(statuses.at(-1)?.state).toBe('AGENT_STATE_READY'));
  });

  it('answers a malformed command with a typed 400, and retry outside ERROR with a 409', async () => {
    const bad = await request('status', '{"verbose":true}');
    expect(bad.headers?.get('Nats-Service-Error-Code')).toBe('400');
    expect(json(bad).code).toBe('ERROR_CODE_BAD_REQUEST');
    const notJson = await request('retry', 'run: rm -rf /');
    expect(notJson.headers?.get('Nats-Service-Error-Code')).toBe('400');
    const retry = await request('retry');
    expect(retry.headers?.get('Nats-Service-Error-Code')).toBe('409');
    expect(json(retry)).toMatchObject({ code: 'ERROR_CODE_FAILED_PRECONDITION' });
    expect(json(retry).message).toMatch(/CLUSTER_STATE_INACTIVE/);
  });

  it('installs when the desired state is present: INSTALLING, ACTIVE, then READY', async () => {
    const from = events.length;
    await put(present);
    await eventually(async () => {
      const s = await status();
      expect(s.state).toBe('CLUSTER_STATE_ACTIVE');
      expect(s.readiness).toBe('CLUSTER_READINESS_READY');
    });
    await eventually(() => expect(transitions(from)).toEqual(['INACTIVE>INSTALLING', 'INSTALLING>ACTIVE']));
    expect(Number(events.at(-1)?.sequence)).toBeGreaterThan(Number(events.at(-2)?.sequence));
    await eventually(() => expect(statuses.at(-1)?.state).toBe('AGENT_STATE_READY'));
    // The installer got typed parameters through its environment, and its fixed argument only.
    expect(await calls()).toEqual([
      `install k3s agent https://10.20.30.40:6443 ${join(dir, 'secrets', 'k3s-join')} --from-outpost`,
    ]);
    expect(await readFile(join(rancher, 'k3s.yaml'), 'utf8')).toMatch(
      /server: https:\/\/10\.20\.30\.40:6443/,
    );
    const request = await readFile(join(dir, 'state', 'cluster', 'request.env'), 'utf8');
    expect(request).toMatch(/^CLUSTER_JOIN_URL="https:\/\/10\.20\.30\.40:6443"$/m);
    expect(request).not.toMatch(/K10-not-a-real-token/);
    await eventually(async () => {
      const kv = (await statusKv.get(`${NODE}.cluster.state`))?.json<{ state: string; readiness: string }>();
      expect(kv).toMatchObject({ state: 'CLUSTER_STATE_ACTIVE', readiness: 'CLUSTER_READINESS_READY' });
    });
    const persisted = await readJson<{ state: number }>(join(dir, 'state', 'cluster', 'state.json'));
    expect(persisted).toMatchObject({ version: 1, data: { state: 3 } });
  });

  it('does nothing for the same desired state again', async () => {
    const from = events.length;
    await put(present);
    await nc.flush();
    const s = await status();
    expect(s.state).toBe('CLUSTER_STATE_ACTIVE');
    expect(events.length).toBe(from);
  });

  it.each([
    ['not JSON', 'presence=present', /undecodable: .*not JSON/],
    ['an unknown field', { ...present, command: 'curl | sh' }, /undecodable/],
    ['an unknown distribution', { ...present, distribution: 'DISTRIBUTION_MICROK8S' }, /undecodable/],
    [
      'an unconfigured distribution',
      { ...present, distribution: 'DISTRIBUTION_RKE2' },
      /rke2 is not configured/,
    ],
    ['an agent without join URL', { ...present, joinUrl: '' }, /needs a joinUrl/],
    ['a join URL over http', { ...present, joinUrl: 'http://10.20.30.40:6443' }, /must be https/],
    ['a token reference with a path', { ...present, tokenRef: '../../etc/shadow' }, /no path separators/],
    ['an empty value', '', /presence must be/],
  ])('rejects a desired state with %s, stays ACTIVE and reports DEGRADED', async (_name, value, reason) => {
    const from = events.length;
    const callsBefore = (await calls()).length;
    await put(value);
    await eventually(async () => expect((await status()).desiredRejected).toMatch(reason));
    const s = await status();
    expect(s.state).toBe('CLUSTER_STATE_ACTIVE');
    expect(s.desired).toMatchObject({ distribution: 'DISTRIBUTION_K3S', joinUrl: present.joinUrl });
    await eventually(() => {
      const last = statuses.at(-1);
      expect(last?.state).toBe('AGENT_STATE_DEGRADED');
      expect(last?.reasons.join()).toMatch(/desired state rejected/);
    });
    expect(events.length).toBe(from);
    expect((await calls()).length).toBe(callsBefore);
  });

  it('clears the rejection when a valid desired state follows', async () => {
    await put(present);
    await eventually(async () => expect((await status()).desiredRejected).toBe(''));
    await eventually(() => expect(statuses.at(-1)?.state).toBe('AGENT_STATE_READY'));
  });

  it('follows readiness while ACTIVE: DEGRADED when the probe fails, READY when it passes again', async () => {
    await rm(join(rancher, 'ready'));
    await eventually(async () => {
      const s = await status();
      expect(s.readiness).toBe('CLUSTER_READINESS_NOT_READY');
      expect(s.readinessDetail).toMatch(/connection refused/);
    });
    await eventually(() => expect(statuses.at(-1)?.reasons.join()).toMatch(/cluster not ready/));
    await writeFile(join(rancher, 'ready'), '');
    await eventually(() => expect(statuses.at(-1)?.state).toBe('AGENT_STATE_READY'));
  });

  it('uninstalls when the desired state is absent: UNINSTALLING, INACTIVE', async () => {
    const from = events.length;
    await put(absent);
    await eventually(async () => expect((await status()).state).toBe('CLUSTER_STATE_INACTIVE'));
    await eventually(() =>
      expect(transitions(from)).toEqual(['ACTIVE>UNINSTALLING', 'UNINSTALLING>INACTIVE']),
    );
    expect(existsSync(join(rancher, 'k3s.yaml'))).toBe(false);
    expect((await calls()).at(-1)).toBe('uninstall k3s');
    expect((await status()).readiness).toBe('CLUSTER_READINESS_UNKNOWN');
    await eventually(() => expect(statuses.at(-1)?.state).toBe('AGENT_STATE_READY'));
  });

  it('goes to ERROR with the reason when the installer fails, retries with growing waits, then recovers', async () => {
    const from = events.length;
    await flag('fail-install', 'could not download k3s: network unreachable');
    await put(present);
    await eventually(() =>
      expect(events.slice(from).filter((e) => e.to === 'CLUSTER_STATE_ERROR').length).toBeGreaterThanOrEqual(
        3,
      ),
    );
    const errors = events.slice(from).filter((e) => e.to === 'CLUSTER_STATE_ERROR');
    expect(errors.map((e) => e.attempts).slice(0, 3)).toEqual([1, 2, 3]);
    const waits = errors.slice(0, 3).map((e) => Date.parse(e.nextRetryAt ?? '') - Date.parse(e.at));
    expect(waits[1]).toBeGreaterThan(waits[0]);
    expect(waits[2]).toBeGreaterThan(waits[1]);
    expect(waits[2]).toBeLessThanOrEqual(1200);
    const s = await status();
    expect(s.lastError).toMatch(/exit 1: .*could not download k3s: network unreachable/s);
    expect(statuses.at(-1)?.reasons.join()).toMatch(/install of k3s failed \(\d+ attempts?\)/);
    // Between failures the machine goes ERROR -> INSTALLING (retry) -> ERROR, nothing else.
    await eventually(() =>
      expect(transitions(from).slice(0, 4)).toEqual([
        'INACTIVE>INSTALLING',
        'INSTALLING>ERROR',
        'ERROR>INSTALLING',
        'INSTALLING>ERROR',
      ]),
    );
    await unflag('fail-install');
    await eventually(async () => {
      const now = await status();
      expect(now).toMatchObject({
        state: 'CLUSTER_STATE_ACTIVE',
        attempts: 0,
        readiness: 'CLUSTER_READINESS_READY',
      });
    });
    expect(events.at(-1)).toMatchObject({ from: 'CLUSTER_STATE_INSTALLING', to: 'CLUSTER_STATE_ACTIVE' });
  });

  it('resumes an install cut short by a restart of the suite', async () => {
    const installs = async () => (await calls()).filter((c) => c.startsWith('install')).length;
    await put(absent);
    await eventually(async () => expect((await status()).state).toBe('CLUSTER_STATE_INACTIVE'));
    // The events of getting there may trail the status reply: all in before counting from here.
    await eventually(() => expect(events.at(-1)?.to).toBe('CLUSTER_STATE_INACTIVE'));
    await flag('slow-install', '30');
    const installsBefore = await installs();
    const from = events.length;
    await put(present);
    await eventually(() => expect(events.at(-1)?.to).toBe('CLUSTER_STATE_INSTALLING'));
    // The installer is running (it logs its call first) when the suite goes.
    await eventually(async () => expect(await installs()).toBe(installsBefore + 1));
    await suite?.stop('restart mid-install');
    const onDisk = await readJson<{ state: number }>(join(dir, 'state', 'cluster', 'state.json'));
    expect(onDisk?.data.state).toBe(2); // CLUSTER_STATE_INSTALLING
    await unflag('slow-install');
    await start();
    await eventually(async () => expect((await status()).state).toBe('CLUSTER_STATE_ACTIVE'));
    await eventually(() => expect(transitions(from)).toEqual(['INACTIVE>INSTALLING', 'INSTALLING>ACTIVE']));
    expect(await installs()).toBe(installsBefore + 2); // the one cut short, and the resumed one
  });

  it('resumes an uninstall after a crash that left UNINSTALLING on disk', async () => {
    await suite?.stop('crash');
    const path = join(dir, 'state', 'cluster', 'state.json');
    const doc = await readJson<Record<string, unknown>>(path);
    // What kill -9 during an uninstall leaves behind: the transition was persisted, the step not done.
    await writeJsonAtomic(path, 1, { ...doc?.data, state: 4 });
    await put(absent);
    const from = events.length;
    await start();
    await eventually(async () => expect((await status()).state).toBe('CLUSTER_STATE_INACTIVE'));
    await eventually(() => expect(transitions(from)).toEqual(['UNINSTALLING>INACTIVE']));
    expect((await calls()).at(-1)).toBe('uninstall k3s');
  });

  it('retries at once on cmd.retry instead of waiting out the backoff', async () => {
    await suite?.stop('restart with a long backoff');
    await start({ OUTPOST_CLUSTER_RETRY_INITIAL_MS: '600000', OUTPOST_CLUSTER_RETRY_MAX_MS: '600000' });
    await flag('fail-install', 'registry down');
    await put(present);
    await eventually(async () => expect((await status()).state).toBe('CLUSTER_STATE_ERROR'));
    const s = await status();
    expect(Date.parse(s.nextRetryAt) - Date.now()).toBeGreaterThan(60_000);
    await unflag('fail-install');
    const reply = await request('retry');
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBeUndefined();
    // The reply may still say ERROR (it waits 2 s for the retry to start, less than a loaded machine can
    // take); ACTIVE long before the 10-minute backoff is what shows the wait was skipped.
    await eventually(async () => expect((await status()).state).toBe('CLUSTER_STATE_ACTIVE'));
  });
});
