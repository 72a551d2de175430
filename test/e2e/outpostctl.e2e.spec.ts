/**
 * outpostctl as it ships (apps/outpostctl/dist/bundle/main.js) run as a child process the way an operator
 * runs it, against a real nats-server with users (an nkey admin, an nkey viewer who may not write
 * desired state) and a running suite (node, hardware, update and orchestrator agents on a simulated
 * device, images served over HTTP). Each command is checked in text and JSON, with its exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toJson } from '@bufbuild/protobuf';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { createUser } from '@nats-io/nkeys';
import { JsonLogger, startSuite, type RunningSuite } from '@outpost/agent-runtime';
import { HardwareAgent } from '@outpost/agent-hardware';
import { NodeAgent } from '@outpost/agent-node';
import { OrchestratorAgent } from '@outpost/agent-orchestrator';
import { UpdateAgent } from '@outpost/agent-update';
import { provisionJetStream } from '@outpost/bus';
import { KV_DESIRED, KV_STATUS, UpdateManifestSchema } from '@outpost/contracts';
import {
  connectTo,
  eventually,
  freePort,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { ImageServer, makeImage, makeKeys, manifestFor } from '../../libs/agents/update/test/fixtures.js';
import { shippedMain } from '../../tools/scripts/shipped.mjs';
import { ROOT } from './app-process.js';

const MAIN = shippedMain(ROOT, 'outpostctl');
const NODE = 'ctl-node-1';
const MiB = 1024 * 1024;
/** New Year's night next year: far enough that the node only downloads and waits, near enough to be searched. */
const YEAR = new Date().getUTCFullYear() + 1;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Longer than any one outpostctl command takes on a loaded machine; watch runs are stopped by the test. */
const CTL_LIMIT_MS = 120_000;

describe('outpostctl against a running suite', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let desiredKv: KV;
  let statusKv: KV;
  let suite: RunningSuite;
  let dir: string;
  let ctlEnv: NodeJS.ProcessEnv;
  let viewerSeed: string;
  let manifestFile: string;
  let desiredFile: string;
  const http = new ImageServer();
  const keys = makeKeys();
  const admin = createUser();
  const viewer = createUser();

  function start(
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): { child: ChildProcess; result: Promise<Run>; out: () => string } {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...ctlEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    // A command that does not end is a failure of its own, named, not a test that times out silently.
    const hung = setTimeout(() => {
      stderr += `\n[outpostctl ${args.join(' ')}: no exit within ${CTL_LIMIT_MS} ms, killed]`;
      child.kill('SIGKILL');
    }, CTL_LIMIT_MS);
    const result = new Promise<Run>((done) =>
      child.once('exit', (code, signal) => {
        clearTimeout(hung);
        done({ code: code ?? (signal ? 128 : -1), stdout, stderr });
      }),
    );
    return { child, result, out: () => stdout };
  }

  const ctl = (...args: string[]) => start(args).result;
  const ctlJson = async (...args: string[]) => {
    const r = await ctl(...args, '--json');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(r.stdout) as Record<string, unknown> & { nodes: Record<string, unknown>[] };
  };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    nats = await startNatsServer({
      configText: `authorization {
  users: [
    { user: agents, password: agents-secret }
    { nkey: ${admin.getPublicKey()} }
    { nkey: ${viewer.getPublicKey()}, permissions: { publish: { deny: ["$KV.edge_desired.>"] } } }
  ]
}
`,
    });
    nc = await connectTo(nats, { user: 'agents', pass: 'agents-secret' });
    // Agents with credentials only bind to JetStream: provision it first, as install time does.
    await provisionJetStream(nc, { nodeId: NODE });
    await http.start();
    dir = await mkdtemp(join(tmpdir(), 'outpost-ctl-'));
    suite = await startSuite([NodeAgent, HardwareAgent, UpdateAgent, OrchestratorAgent], {
      env: simulatedNodeEnv(join(dir, 'node'), nats.url, {
        NATS_USER: 'agents',
        NATS_PASSWORD: 'agents-secret',
        OUTPOST_NODE_ID: NODE,
        OUTPOST_NODE_REQUIRED_AGENTS: 'node,hardware,update,orchestrator',
        OUTPOST_UPDATE_TRUSTED_KEYS: keys.publicBase64,
        OUTPOST_UPDATE_PROGRESS_INTERVAL_MS: '10',
        OUTPOST_STATUS_INTERVAL_MS: '1000',
      }),
      logger: new JsonLogger({ agent: 'edge-node' }, 'error'),
    });
    desiredKv = await new Kvm(nc).open(KV_DESIRED);
    statusKv = await new Kvm(nc).open(KV_STATUS);

    // A nats CLI context named "fleet" with the admin's nkey seed, as `nats context save` writes it.
    const config = join(dir, 'config');
    await mkdir(join(config, 'nats', 'context'), { recursive: true });
    const adminSeed = join(dir, 'admin.nk');
    await writeFile(adminSeed, new TextDecoder().decode(admin.getSeed()));
    viewerSeed = join(dir, 'viewer.nk');
    await writeFile(viewerSeed, new TextDecoder().decode(viewer.getSeed()));
    await writeFile(
      join(config, 'nats', 'context', 'fleet.json'),
      JSON.stringify({ description: 'test fleet', url: nats.url, nkey: adminSeed }),
    );
    await writeFile(join(config, 'nats', 'context.txt'), 'fleet');
    ctlEnv = { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: config };

    const image = makeImage(3 * MiB + 123);
    const url = http.serve('/os-2.0.0.img', { body: image.raw });
    const manifest = toJson(UpdateManifestSchema, manifestFor('2.0.0', url, image, keys.privateKey));
    manifestFile = join(dir, 'manifest.json');
    await writeFile(manifestFile, JSON.stringify(manifest));
    desiredFile = join(dir, 'desired.json');
    await writeFile(
      desiredFile,
      JSON.stringify({
        manifest,
        // Far from now: the update downloads at once and then waits (no reboot in this suite).
        windows: [{ timeZone: 'UTC', single: { start: `${YEAR}-01-01T01:00`, end: `${YEAR}-01-01T05:00` } }],
        healthPolicy: { deadlineSeconds: 60, checks: [] },
        rolloutGroup: 'berlin',
        maxParallel: 1,
      }),
    );
    // Every agent has reported once and the node is healthy.
    await eventually(async () => {
      const r = await ctlJson('nodes');
      expect(r.nodes).toEqual([expect.objectContaining({ nodeId: NODE, health: 'HEALTHY', liveAgents: 4 })]);
    });
  });

  afterAll(async () => {
    await suite?.stop('test done');
    await nc?.close();
    await nats?.stop();
    await http.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints help (exit 0) and refuses a bad command line with exit 2', async () => {
    const help = await ctl('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/update set <node\|group>/);
    expect(help.stdout).toMatch(/Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 permission denied, 5/);
    const unknown = await ctl('nodez');
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command: nodez') });
    const half = await ctl('update');
    expect(half).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/update needs one of: status, history, set/),
    });
    const wrongOption = await ctl('nodes', '--manifest', 'x.json');
    expect(wrongOption).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--manifest does not apply to `nodes`'),
    });
    const missingArg = await ctl('node');
    expect(missingArg).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('usage: outpostctl node <node>'),
    });
  });

  it('says the server is unreachable (exit 5) and what to do', async () => {
    const port = await freePort();
    const r = await ctl('nodes', '--server', `nats://127.0.0.1:${port}`);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/cannot reach the NATS server at nats:\/\/127\.0\.0\.1:\d+ \(from --server\)/);
    expect(r.stderr).toMatch(/systemctl status nats-server/);
    const json = await ctl('nodes', '--server', `nats://127.0.0.1:${port}`, '--json');
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { exitCode: 5 } });
  });

  it('refuses unknown credentials and a missing context with exit 4 and 3', async () => {
    const stranger = join(dir, 'stranger.nk');
    await writeFile(stranger, new TextDecoder().decode(createUser().getSeed()));
    const r = await ctl('nodes', '--server', nats.url, '--creds', stranger);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/refused the credentials/);
    const none = await ctl('nodes', '--context', 'nowhere');
    expect(none).toMatchObject({ code: 3, stderr: expect.stringMatching(/no context "nowhere"/) });
  });

  it('nodes: a table and JSON, through the selected context', async () => {
    const r = await ctl('nodes');
    expect(r.code).toBe(0);
    const [header, row] = r.stdout.trim().split('\n');
    expect(header).toMatch(/^NODE\s+HEALTH\s+VERSION\s+SLOT\s+LAST HEARTBEAT\s+AGENTS UP$/);
    expect(row).toMatch(new RegExp(`^${NODE}\\s+HEALTHY\\s+\\d+\\.\\d+\\.\\d+\\s+a\\s+\\d+s ago\\s+4$`));
    const json = await ctlJson('nodes');
    expect(json.nodes[0]).toMatchObject({
      nodeId: NODE,
      slot: 'a',
      stale: false,
      lastHeartbeat: expect.any(String),
    });
  });

  it('node <id>: identity, update, hardware and agents; an unknown node is exit 3', async () => {
    const r = await ctl('node', NODE);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Node ${NODE}\\n  hostname: +\\S+`));
    expect(r.stdout).toMatch(/\nUpdate\n {2}state: +IDLE/);
    expect(r.stdout).toMatch(/\nHardware\n {2}system: +\S+/);
    for (const agent of ['hardware', 'node', 'orchestrator', 'update'])
      expect(r.stdout).toMatch(new RegExp(`\\n  ${agent}\\s+READY\\s+\\S+\\s+\\d+s ago\\s+yes\\s+-`));
    const json = await ctlJson('node', NODE);
    expect(json).toMatchObject({
      nodeId: NODE,
      health: 'HEALTHY',
      identity: { nodeId: NODE, source: 'IDENTITY_SOURCE_CONFIGURED' },
      update: { state: 'UPDATE_STATE_IDLE', activeSlot: 'a' },
      inventory: { memoryBytes: expect.any(Number), disks: expect.any(Array) },
    });
    expect((json.agents as { agent: string }[]).map((a) => a.agent)).toEqual([
      'hardware',
      'node',
      'orchestrator',
      'update',
    ]);
    const missing = await ctl('node', 'no-such-node');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no such node: no-such-node/);
    expect(missing.stderr).toMatch(/outpostctl nodes/);
  });

  it('update set: refuses what the contract or the orchestrator would refuse (exit 6), writing nothing', async () => {
    // A manifest alone on a node without a desired update: no windows, the orchestrator would refuse it.
    const alone = await ctl('update', 'set', NODE, '--manifest', manifestFile);
    expect(alone).toMatchObject({
      code: 6,
      stderr: expect.stringMatching(/refused for ctl-node-1: windows is empty/),
    });
    const typo = join(dir, 'typo.json');
    await writeFile(typo, JSON.stringify({ version: '2.0.0', imageURL: 'http://x/y.img' }));
    const bad = await ctl('update', 'set', NODE, '--manifest', typo);
    expect(bad.code).toBe(6);
    expect(bad.stderr).toMatch(/does not match the contract: .*imageURL/);
    expect(await desiredKv.get(`${NODE}.update`)).toBeNull();
    const noFile = await ctl('update', 'set', NODE);
    expect(noFile).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('update set needs --manifest FILE'),
    });
  });

  it('update set + watch: the desired update is written, the download shows as a progress bar', async () => {
    const watch = start(['watch', NODE]);
    const json = start(['watch', NODE, '--json']);
    await eventually(() => expect(watch.out() + json.out()).toMatch(/node\.heartbeat[\s\S]*heartbeat/));
    const r = await ctl('update', 'set', NODE, '--manifest', desiredFile);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^NODE\\s+VERSION\\s+WAS\\s+RETRY\\s+REVISION\\n${NODE}\\s+2\\.0\\.0\\s+-\\s+0\\s+\\d+\\n`),
    );
    expect((await desiredKv.get(`${NODE}.update`))?.json<{ rolloutGroup: string }>().rolloutGroup).toBe(
      'berlin',
    );

    await eventually(() => expect(watch.out()).toMatch(/update\.state {2}DOWNLOADING -> DOWNLOADED 2\.0\.0/));
    expect(watch.out()).toMatch(/orchestrator\.state {2}IDLE -> DOWNLOADING 2\.0\.0/);
    expect(watch.out()).toMatch(
      /update\.progress {2}download 2\.0\.0 \[#{24}\] 100% {2}3\.0 MiB\/3\.0 MiB {2}\S+ \S+\/s {2}ETA 0s/,
    );
    await eventually(() => expect(json.out()).toMatch(/"event":"progress"/));
    watch.child.kill('SIGINT');
    json.child.kill('SIGINT');
    expect((await watch.result).code).toBe(0);
    const lines = (await json.result).stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { nodeId: string; agent: string; event: string; message: Record<string, unknown> },
      );
    expect(lines.every((l) => l.nodeId === NODE)).toBe(true);
    expect(lines.find((l) => l.event === 'progress')?.message).toMatchObject({
      phase: 'download',
      total: String(3 * MiB + 123),
    });

    // A second `set` with the manifest alone keeps windows and policy; --retry bumps the retry.
    const again = await ctl('update', 'set', NODE, '--manifest', manifestFile, '--retry', '1');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`${NODE}\\s+2\\.0\\.0\\s+2\\.0\\.0\\s+1\\s+\\d+`));
  });

  it('update status and history, text and JSON', async () => {
    await eventually(async () => {
      const json = await ctlJson('update', 'status', NODE);
      expect(json).toMatchObject({
        orchestrator: { state: 'ORCHESTRATION_STATE_WAITING_WINDOW', version: '2.0.0' },
        update: { state: 'UPDATE_STATE_DOWNLOADED', activeSlot: 'a', targetSlot: 'b' },
        desired: { rolloutGroup: 'berlin', retry: 1 },
      });
    });
    const r = await ctl('update', 'status', NODE);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/desired: +2\.0\.0 \(retry 1, group berlin max 1, revision \d+\)/);
    expect(r.stdout).toMatch(/orchestrator: +WAITING_WINDOW 2\.0\.0 since \d+s ago/);
    expect(r.stdout).toMatch(
      new RegExp(`next window: +${YEAR}-01-01T01:00:00\\.000Z \\.\\. ${YEAR}-01-01T05:00:00\\.000Z`),
    );
    expect(r.stdout).toMatch(/update agent: +DOWNLOADED 2\.0\.0/);
    const history = await ctlJson('update', 'history', NODE);
    expect(history).toMatchObject({ nodeId: NODE, runs: expect.any(Array) });
    const text = await ctl('update', 'history', NODE);
    expect(text.code).toBe(0);
  });

  it("windows set/show: validated, written, next three windows in the node's zone; a node or its group", async () => {
    const badFile = join(dir, 'bad-windows.json');
    await writeFile(
      badFile,
      JSON.stringify([
        { timeZone: 'Mars/Olympus', weekly: { days: ['tue'], startTime: '23:00', lengthMinutes: 60 } },
      ]),
    );
    const before = (await desiredKv.get(`${NODE}.update`))?.revision;
    const bad = await ctl('windows', 'set', NODE, '--file', badFile);
    expect(bad).toMatchObject({
      code: 6,
      stderr: expect.stringContaining('windows[0].timeZone "Mars/Olympus" is not an IANA time zone'),
    });
    expect((await desiredKv.get(`${NODE}.update`))?.revision).toBe(before);

    const file = join(dir, 'windows.json');
    await writeFile(
      file,
      JSON.stringify([
        {
          timeZone: 'America/New_York',
          weekly: { days: ['sat', 'sun'], startTime: '02:00', lengthMinutes: 120 },
        },
      ]),
    );
    const r = await ctl('windows', 'set', NODE, '--file', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^Maintenance windows of ${NODE} \\(America/New_York\\)\\n  weekly sat,sun 02:00 for 120 min America/New_York\\n`,
      ),
    );
    const rows = r.stdout.split('\n').filter((l) => /^ {2}[123] /.test(l));
    expect(rows).toHaveLength(3);
    for (const row of rows)
      expect(row).toMatch(
        /(Sat|Sun) \d{4}-\d\d-\d\d 02:00 \S+ +(Sat|Sun) \d{4}-\d\d-\d\d 04:00 \S+ +2h00m +in /,
      );
    const stored = (await desiredKv.get(`${NODE}.update`))?.json<{
      windows: unknown[];
      manifest: { version: string };
    }>();
    expect(stored?.windows).toEqual([
      {
        timeZone: 'America/New_York',
        weekly: { days: ['sat', 'sun'], startTime: '02:00', lengthMinutes: 120 },
      },
    ]);
    expect(stored?.manifest.version).toBe('2.0.0');

    // By rollout group, in JSON, shown in another zone.
    const json = await ctlJson('windows', 'show', 'berlin', '--tz', 'Europe/Berlin', '--count', '2');
    expect(json.nodes).toHaveLength(1);
    const next = json.nodes[0].next as { start: string; end: string }[];
    expect(next).toHaveLength(2);
    for (const w of next) expect(w.start).toMatch(/^\d{4}-\d\d-\d\dT0[78]:00:00\.000\+0[12]:00$/);
    const unknown = await ctl('windows', 'show', 'nobody');
    expect(unknown).toMatchObject({
      code: 3,
      stderr: expect.stringContaining('no such node or rollout group: nobody'),
    });
  });

  it('leases and break-lease', async () => {
    const expiresAt = Date.now() + 600_000;
    await statusKv.create(
      'rollout.berlin.lease-0',
      JSON.stringify({ holder: NODE, version: '2.0.0', expiresAt }),
    );
    const r = await ctl('leases');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^GROUP\\s+SLOT\\s+HOLDER\\s+VERSION\\s+EXPIRES\\nberlin\\s+0\\s+${NODE}\\s+2\\.0\\.0\\s+in \\d+m\\d+s\\n$`,
      ),
    );
    const json = await ctlJson('leases', 'berlin');
    expect(json.leases).toEqual([
      expect.objectContaining({
        group: 'berlin',
        slot: 0,
        holder: NODE,
        expired: false,
        expiresAt: new Date(expiresAt).toISOString(),
      }),
    ]);
    const broken = await ctl('break-lease', 'berlin', '0');
    expect(broken).toMatchObject({
      code: 0,
      stdout: `broke lease 0 of rollout group berlin (held by ${NODE} for 2.0.0)\n`,
    });
    const entry = await statusKv.get('rollout.berlin.lease-0');
    expect(entry?.operation).not.toBe('PUT');
    const again = await ctl('break-lease', 'berlin', '0');
    expect(again).toMatchObject({
      code: 3,
      stderr: expect.stringContaining('no lease 0 held in rollout group berlin'),
    });
    expect((await ctl('leases')).stdout).toBe('no rollout leases held\n');
  });

  it('a user who may not write desired state gets exit 4 and nothing is written', async () => {
    const before = (await desiredKv.get(`${NODE}.update`))?.revision;
    const r = await ctl(
      'update',
      'set',
      NODE,
      '--manifest',
      manifestFile,
      '--server',
      nats.url,
      '--creds',
      viewerSeed,
    );
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/permission denied/i);
    expect(r.stderr).toMatch(/--creds\/--context/);
    expect((await desiredKv.get(`${NODE}.update`))?.revision).toBe(before);
    // The same user may still read.
    expect((await ctl('nodes', '--server', nats.url, '--creds', viewerSeed)).code).toBe(0);
  });
});
