/**
 * The built edge-node and node-agent apps as real processes on a real nats-server, inspected the way
 * an operator does with the nats CLI — here with a plain NATS client and no Nest: micro discovery,
 * `nats req ... '{}'`, `nats kv get`, and the life cycle: sd_notify, SIGTERM drain, config errors.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { CATALOG } from '@outpost/contracts';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { startApp, type AppProcess } from './app-process.js';

const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data));

describe('edge-node and node-agent processes', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let dir: string;
  const running: AppProcess[] = [];

  function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return simulatedNodeEnv(dir, nats.url, { OUTPOST_STATUS_INTERVAL_MS: '500', ...extra });
  }

  function launch(app: string, extra?: NodeJS.ProcessEnv): AppProcess {
    const p = startApp(app, env(extra));
    running.push(p);
    return p;
  }

  async function nodeIdOf(p: AppProcess): Promise<string> {
    return eventually(() => {
      const m = /"node":"([0-9a-f]{16})"/.exec(p.output());
      if (!m) throw new Error(`no node id logged yet:\n${p.output()}`);
      return m[1];
    });
  }

  async function ready(nodeId: string): Promise<void> {
    await eventually(async () => {
      const reply = await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 1000 });
      expect(json(reply).nodeId).toBe(nodeId);
    });
  }

  async function healthy(nodeId: string): Promise<void> {
    await eventually(async () => {
      const reply = await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 1000 });
      expect(json(reply).state).toBe('HEALTH_STATE_HEALTHY');
    });
  }

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectTo(nats);
  });

  afterEach(async () => {
    for (const p of running.splice(0)) {
      p.kill('SIGKILL');
      await p.exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('answers plain requests, micro discovery and KV reads like the nats CLI makes them', async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-e2e-'));
    const app = launch('edge-node');
    const nodeId = await nodeIdOf(app);
    await healthy(nodeId); // every agent of edge-node is up

    // nats req edge.<node>.node.cmd.describe '{}'
    const describe = json(await nc.request(`edge.${nodeId}.node.cmd.describe`, '{}', { timeout: 5000 }));
    expect(describe.identity.nodeId).toBe(nodeId);

    // nats micro ls
    const pings = [];
    for await (const m of await nc.requestMany('$SRV.PING', '', { maxWait: 1000 })) pings.push(json(m));
    const mine = pings.filter((p) => p.metadata?.node_id === nodeId);
    expect(mine.every((p) => p.type === 'io.nats.micro.v1.ping_response')).toBe(true);
    // edge-node runs every agent of the catalog (a generated agent joins both at once; hub services
    // are in HUB_CATALOG).
    expect(mine.map((p) => p.name).sort()).toEqual(
      Object.keys(CATALOG)
        .map((agent) => `outpost-${agent}`)
        .sort(),
    );
    expect(mine.length).toBeGreaterThanOrEqual(6);

    // nats kv get edge_status <node>.node  and  <node>.node.health
    const kv = await new Kvm(nc).open('edge_status');
    await eventually(async () => {
      expect((await kv.get(`${nodeId}.node`))?.json<{ state: string }>().state).toBe('AGENT_STATE_READY');
      expect((await kv.get(`${nodeId}.node.health`))?.json<{ state: string }>().state).toBe(
        'HEALTH_STATE_HEALTHY',
      );
    });
  });

  it('drains on SIGTERM: every request sent before the signal is answered, STOPPING is published, exit 0', async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-e2e-'));
    const app = launch('edge-node');
    const nodeId = await nodeIdOf(app);
    await ready(nodeId);
    const statuses: string[] = [];
    nc.subscribe(`edge.${nodeId}.node.status`, { callback: (_e, m) => void statuses.push(json(m).state) });

    const requests = Array.from({ length: 500 }, () =>
      nc.request(`edge.${nodeId}.node.cmd.describe`, '{}', { timeout: 15_000 }).then(
        (m) => json(m).identity?.nodeId === nodeId,
        () => false,
      ),
    );
    await nc.flush(); // the server has routed every request before the signal
    app.kill('SIGTERM');
    const answered = await Promise.all(requests);
    expect(answered.filter((ok) => !ok)).toHaveLength(0);
    expect(await app.exited).toBe(0);
    await eventually(() => expect(statuses).toContain('AGENT_STATE_STOPPING'));
    const kv = await new Kvm(nc).open('edge_status');
    expect((await kv.get(`${nodeId}.node`))?.json<{ state: string }>().state).toBe('AGENT_STATE_STOPPING');
    expect(app.output()).toMatch(/"msg":"stopped"/);
  });

  it('tells systemd READY=1 once serving and STOPPING=1 on SIGTERM', async () => {
    expect(existsSync('/usr/bin/systemd-notify') || existsSync('/bin/systemd-notify')).toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'outpost-e2e-'));
    const socket = join(dir, 'notify.sock');
    const listener = spawn(
      'python3',
      [
        '-u',
        '-c',
        [
          'import socket, sys',
          's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
          's.bind(sys.argv[1])',
          'print("LISTENING", flush=True)',
          's.settimeout(30)',
          'while True:',
          '    data = s.recv(4096).decode()',
          '    print(data.replace("\\n", " "), flush=True)',
          '    if "STOPPING=1" in data: break',
        ].join('\n'),
        socket,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let received = '';
    listener.stdout.on('data', (c: Buffer) => (received += c.toString()));
    await eventually(() => expect(received).toContain('LISTENING'));

    try {
      const app = launch('node-agent', { NOTIFY_SOCKET: socket });
      await eventually(() => expect(received).toContain('READY=1'));
      const nodeId = await nodeIdOf(app);
      await ready(nodeId);
      app.kill('SIGTERM');
      expect(await app.exited).toBe(0);
      await eventually(() => expect(received).toContain('STOPPING=1'));
    } finally {
      listener.kill();
    }
    expect(received.indexOf('READY=1')).toBeLessThan(received.indexOf('STOPPING=1'));
  });

  it('refuses a bad setting with exit code 78, naming the key, the value and the range', async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-e2e-'));
    const app = launch('node-agent', { OUTPOST_NODE_HEARTBEAT_INTERVAL_MS: '5' });
    expect(await app.exited).toBe(78);
    const errors = app
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; agent: string; msg: string })
      .filter((entry) => entry.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].agent).toBe('node');
    expect(errors[0].msg).toMatch(
      /OUTPOST_NODE_HEARTBEAT_INTERVAL_MS.*"heartbeatIntervalMs" = 5 .*\[500, 3600000\]/,
    );
  });

  it('keeps serving through a NATS server restart, every agent healthy again', async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-e2e-'));
    const app = launch('edge-node');
    const nodeId = await nodeIdOf(app);
    await healthy(nodeId);
    await nats.restart();
    await healthy(nodeId);
    await ready(nodeId).catch((err: unknown) => {
      throw new Error(
        `not serving after the restart (exit ${app.child.exitCode}): ${String(err)}\n${app.output().slice(-3000)}`,
      );
    });
    expect(app.child.exitCode).toBeNull();
  });
});
