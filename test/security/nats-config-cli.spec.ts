/**
 * tools/scripts/nats-config.mjs as an installer runs it (Node 24, the built packages): render a node's
 * configuration, start nats-server with it, provision JetStream as the admin, run again without
 * changing any identity; agents' users cannot create JetStream assets; bad arguments exit 2.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { nkeyAuthenticator } from '@nats-io/nats-core';
import { EVENT_STREAM, KV_DESIRED, KV_STATUS, OBS_BUFFER_SINKS, obsBufferNames } from '@outpost/contracts';
import { readSeedFile } from '@outpost/nats-config';
import { connectTo, startNatsServer, type NatsServerHandle } from '@outpost/testing';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const TOOL = join(ROOT, 'tools', 'scripts', 'nats-config.mjs');

function tool(...args: string[]): Promise<{ code: number; out: string }> {
  if (!existsSync(join(ROOT, 'libs', 'nats-config', 'dist', 'index.js'))) {
    throw new Error('libs/nats-config/dist is missing: run `npm run build` first (npm test does)');
  }
  return new Promise((done) => {
    execFile(process.execPath, [TOOL, ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, out: stdout + stderr });
    });
  });
}

describe('nats-config.mjs', () => {
  let dir: string;
  let nats: NatsServerHandle | undefined;
  let render: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-nats-cli-'));
    render = [
      '--node-id',
      'cli1',
      '--out',
      join(dir, 'nats'),
      '--store-dir',
      join(dir, 'js'),
      '--domain',
      'cli1',
    ];
  });

  afterAll(async () => {
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('renders, then provisions JetStream as the admin on the server running that configuration', async () => {
    const first = await tool(...render);
    expect(first).toEqual({ code: 0, out: expect.stringContaining('user hardware:') });
    expect(first.out).toContain('new seed');
    nats = await startNatsServer({ configFile: join(dir, 'nats', 'nats-server.conf') });

    // The node id comes from provision.env, which the render wrote (the unit's EnvironmentFile=).
    expect(await readFile(join(dir, 'nats', 'provision.env'), 'utf8')).toBe('OUTPOST_NODE_ID=cli1\n');
    const provisioned = await tool('--provision', '--out', join(dir, 'nats'), '--url', nats.url);
    expect(provisioned).toEqual({
      code: 0,
      out: expect.stringContaining('provisioned JetStream of node cli1'),
    });
    const admin = await connectTo(nats, {
      authenticator: nkeyAuthenticator(await readSeedFile(join(dir, 'nats', 'creds', 'admin.nk'))),
    });
    try {
      const jsm = await jetstreamManager(admin);
      for (const stream of [EVENT_STREAM, `KV_${KV_DESIRED}`, `KV_${KV_STATUS}`]) {
        expect((await jsm.streams.info(stream)).config.name).toBe(stream);
      }
      // Every offline buffer, configured or not, and every KV watch consumer.
      for (const sink of OBS_BUFFER_SINKS) {
        const { stream, subject } = obsBufferNames('cli1', sink);
        expect((await jsm.streams.info(stream)).config.subjects).toEqual([subject]);
      }
      expect(
        (await jsm.consumers.info(`KV_${KV_DESIRED}`, 'kvw_cli1_orchestrator_cli1-update')).config,
      ).toEqual(
        expect.objectContaining({ filter_subject: '$KV.edge_desired.cli1.update', ack_policy: 'explicit' }),
      );
      // A buffer stream an older agent created with a republish onto a command (issue 19) is replaced.
      const { stream, subject } = obsBufferNames('cli1', 'otlp-metrics');
      await jsm.streams.delete(stream);
      await jsm.streams.add({
        name: stream,
        subjects: [subject],
        republish: { src: subject, dest: 'edge.cli1.update.cmd.install' },
      });
      // As outpost-nats-provision.service runs it: the admin seed from systemd's credentials directory.
      const seed = join(dir, 'nats', 'creds', 'admin.nk');
      const byUnit = await tool(
        ...['--provision', '--admin-seed', seed, '--node-id', 'cli1', '--url', nats.url],
        ...['--buffer-max-bytes', '2048', '--buffer-max-age', '60'],
      );
      expect(byUnit).toEqual({ code: 0, out: expect.stringContaining('provisioned JetStream of node cli1') });
      const replaced = (await jsm.streams.info(stream)).config;
      expect(replaced).toEqual(
        expect.objectContaining({ subjects: [subject], max_bytes: 2048, max_age: 60_000_000_000 }),
      );
      expect(replaced.republish).toBeUndefined();
    } finally {
      await admin.close();
    }
  });

  it('an agent user cannot create, update or delete JetStream assets', async () => {
    if (!nats) throw new Error('no server');
    const agent = await connectTo(nats, {
      authenticator: nkeyAuthenticator(await readSeedFile(join(dir, 'nats', 'creds', 'observability.nk'))),
      inboxPrefix: '_INBOX.observability',
    });
    try {
      const jsm = await jetstreamManager(agent, { checkAPI: false });
      await expect(jsm.streams.add({ name: 'ROGUE', subjects: ['rogue.>'] })).rejects.toThrow(/ermission/);
      await expect(jsm.streams.delete(`KV_${KV_STATUS}`)).rejects.toThrow(/ermission/);
      // Its own buffer streams included (test/security/jetstream-routing.spec.ts tries every way).
      const { stream, subject } = obsBufferNames('cli1', 'otlp-logs');
      await expect(jsm.streams.add({ name: stream, subjects: [subject] })).rejects.toThrow(/ermission/);
      await expect(
        jsm.streams.update(stream, { subjects: [subject, 'edge.cli1.update.cmd.install'] }),
      ).rejects.toThrow(/ermission/);
      expect((await jsm.streams.info(stream)).config.subjects).toEqual([subject]);
    } finally {
      await agent.close();
    }
  });

  it('keeps every seed and the same configuration when run again', async () => {
    const before = await readFile(join(dir, 'nats', 'nats-server.conf'), 'utf8');
    const again = await tool(...render);
    expect(again.code).toBe(0);
    expect(again.out).not.toContain('new seed');
    expect(await readFile(join(dir, 'nats', 'nats-server.conf'), 'utf8')).toBe(before);
  });

  it.each([
    [['--out', '/tmp/x'], '--node-id is required'],
    [['--node-id', 'n1', '--out', '/tmp/x', '--mode', 'both'], '--mode must be split or all-in-one'],
    [
      ['--node-id', 'n1', '--out', '/tmp/x', '--leaf-url', 'tls://h:7422', '--leaf-ca', 'ca.pem'],
      'go together',
    ],
    [['--node-id', 'n1', '--out', '/tmp/x', '--port', '99999'], 'is not a port'],
    [['--admin-seed', '/tmp/admin.nk'], '--admin-seed goes with --provision alone'],
    [['--provision', '--admin-seed', '/tmp/a.nk'], '--admin-seed needs --node-id'],
    [
      ['--node-id', 'n1', '--out', '/tmp/x', '--buffer-max-bytes', '1'],
      '--buffer-max-bytes goes with --provision',
    ],
    [
      ['--provision', '--out', '/tmp/x', '--buffer-max-age', 'soon'],
      '--buffer-max-age soon is not a positive integer',
    ],
    [
      ['--provision', '--admin-seed', '/tmp/a.nk', '--out', '/tmp/x'],
      '--admin-seed goes with --provision alone',
    ],
  ])('refuses %j with exit 2', async (args, message) => {
    const result = await tool(...args);
    expect(result.code).toBe(2);
    expect(result.out).toContain(message);
  });
});
