/**
 * docs/nats-cli.md can never rot: every ```sh block in it is executed, in order, against a real
 * nats-server with every agent of the catalog running in one suite on a simulated device (a reboot
 * restarts the suite, as runMain does). The test fails when a sample does not parse or uses a `nats`
 * sub-command it cannot execute, a request is answered with an error (unless the sample says
 * `# fails: <code>` and gets exactly that), a reply or KV value does not decode with its contract, a
 * subject or key is not in the catalog, a desired-state write is not acted on, a `nats sub` receives
 * nothing, or a command or event of the CATALOG has no sample. Output blocks (```text right after a
 * ```sh block) show the output of the block's last command; OUTPOST_COOKBOOK_WRITE=1 rewrites them from
 * this run, otherwise each one must still decode with the contract of what it shows.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toJson } from '@bufbuild/protobuf';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  JsonLogger,
  startSuite,
  type AgentDefinition,
  type RunningSuite,
  type SettingsSpec,
} from '@outpost/agent-runtime';
import { ClusterAgent } from '@outpost/agent-cluster';
import { HardwareAgent } from '@outpost/agent-hardware';
import { NodeAgent } from '@outpost/agent-node';
import { ObservabilityAgent } from '@outpost/agent-observability';
import { OrchestratorAgent } from '@outpost/agent-orchestrator';
import { TelemetryAgent } from '@outpost/agent-telemetry';
import { UpdateAgent } from '@outpost/agent-update';
import { FleetAgent } from '@outpost/agent-fleet';
import { isAgentId, kvKeys, UpdateManifestSchema, type ServiceId } from '@outpost/contracts';
import { SimulatedDevice } from '@outpost/device';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { ImageServer, makeImage, makeKeys, manifestFor } from '../../libs/agents/update/test/fixtures.js';
import { fencedBlocks, parseShell, type FencedBlock } from './cookbook-parser.js';
import { COOKBOOK_APIS, CookbookRunner, subjectMatches } from './nats-cli-runner.js';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const DOC = join(ROOT, 'docs', 'nats-cli.md');
const CLUSTER_FIXTURES = join(ROOT, 'libs', 'agents', 'cluster', 'fixtures', 'fake-distribution');
/** A node id as a real node derives it (16 hex digits), fixed so captured outputs stay stable. */
const NODE_ID = '4d1c0a9e7b2f3e11';
const WRITE = process.env.OUTPOST_COOKBOOK_WRITE === '1';

/**
 * The agent definition of every catalog agent, and of the fleet hub service the cookbook also shows (run
 * in the same suite, with the node's id as its node id): a new agent in CATALOG must be added here.
 */
const DEFINITIONS: Partial<Record<ServiceId, AgentDefinition<SettingsSpec, ServiceId>>> = {
  node: NodeAgent,
  hardware: HardwareAgent,
  cluster: ClusterAgent,
  update: UpdateAgent,
  orchestrator: OrchestratorAgent,
  telemetry: TelemetryAgent,
  observability: ObservabilityAgent,
  fleet: FleetAgent,
};

type Json = Record<string, unknown>;

describe('docs/nats-cli.md, every sample executed', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let dir: string;
  let suite: RunningSuite | undefined;
  let restarting: Promise<void> = Promise.resolve();
  const http = new ImageServer();
  const apis = COOKBOOK_APIS;
  const definitions = apis.map((api) => DEFINITIONS[api.agent]);

  async function start(env: NodeJS.ProcessEnv): Promise<void> {
    const defs = definitions.filter((d): d is AgentDefinition<SettingsSpec, ServiceId> => d !== undefined);
    suite = await startSuite(defs, {
      env,
      logger: new JsonLogger({ agent: 'edge-node' }, (process.env.E2E_LOG as 'error') ?? 'error'),
    });
    const device = suite.device;
    if (!(device instanceof SimulatedDevice)) throw new Error('expected the simulated device');
    // A simulated reboot restarts every agent, as runMain does in an app (and systemd on a node).
    device.onReboot(() => {
      restarting = new Promise((done) => setTimeout(done, 0)).then(async () => {
        await suite?.stop('simulated reboot');
        await start(env);
      });
    });
  }

  async function request(agent: string, verb: string): Promise<Json> {
    const m = await nc.request(`edge.${NODE_ID}.${agent}.cmd.${verb}`, '{}', { timeout: 5000 });
    return JSON.parse(m.string()) as Json;
  }

  /** What "acted on" means for each desired-state key: the owning agent took the value. */
  async function actedOn(key: string, value: string): Promise<void> {
    const put = JSON.parse(value) as Json;
    await eventually(async () => {
      if (key === kvKeys.desired(NODE_ID, 'cluster')) {
        const status = await request('cluster', 'status');
        expect(status.desiredRejected).toBe('');
        expect(status.desired).toMatchObject(put);
      } else if (key === kvKeys.desiredUpdate(NODE_ID)) {
        const status = await request('orchestrator', 'status');
        expect(status.rejected).toBe('');
        expect(status.version).toBe((put.manifest as Json).version);
      } else if (key === kvKeys.desired(NODE_ID, 'telemetry') || key === kvKeys.fleetTelemetry()) {
        const status = await request('telemetry', 'status');
        expect(status.lastRejection ?? null).toBeNull();
        const effective = ((status.effective as Json).profile as { entries: Json[] }).entries;
        for (const entry of put.entries as Json[])
          expect(effective).toContainEqual(expect.objectContaining({ input: entry.input, type: entry.type }));
      } else throw new Error(`no agent acts on edge_desired ${key}: add it to actedOn()`);
    });
  }

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectTo(nats);
    await http.start();
    dir = await mkdtemp(join(tmpdir(), 'outpost-cookbook-'));
    const operator = join(dir, 'operator'); // the operator's working directory (cat FILE)
    await mkdir(operator, { recursive: true });
    const keys = makeKeys();
    for (const [i, version] of ['1.4.0', '1.4.1', '1.4.2'].entries()) {
      const image = makeImage(1024 * 1024 + i);
      const url = http.serve(`/os-${version}.img.gz`, { body: image.gz });
      const manifest = manifestFor(version, url, image, keys.privateKey);
      await writeFile(
        join(operator, `os-${version}.manifest.json`),
        JSON.stringify(toJson(UpdateManifestSchema, manifest)),
      );
    }
    // The cluster agent offers k3s through the real exec provider with the test distribution; the
    // secrets dir starts empty, so joining fails until a token is there (the cookbook's retry story).
    const rancher = join(dir, 'rancher', 'k3s');
    await mkdir(rancher, { recursive: true });
    await mkdir(join(dir, 'config'), { recursive: true });
    await mkdir(join(dir, 'secrets'), { recursive: true });
    for (const script of ['install', 'uninstall', 'probe'])
      await chmod(join(CLUSTER_FIXTURES, script), 0o755);
    await writeFile(
      join(dir, 'config', 'cluster.json'),
      JSON.stringify({
        k3sInstaller: join(CLUSTER_FIXTURES, 'install'),
        k3sUninstaller: join(CLUSTER_FIXTURES, 'uninstall'),
        k3sKubeconfig: join(rancher, 'k3s.yaml'),
        k3sReadinessProbe: [join(CLUSTER_FIXTURES, 'probe')],
        secretsDir: join(dir, 'secrets'),
        probeIntervalMs: 200,
        retryInitialMs: 600_000,
        retryMaxMs: 600_000,
      }),
    );
    await start(
      simulatedNodeEnv(dir, nats.url, {
        OUTPOST_NODE_ID: NODE_ID,
        OUTPOST_STATUS_INTERVAL_MS: '500',
        OUTPOST_NODE_HEARTBEAT_INTERVAL_MS: '500',
        OUTPOST_NODE_REQUIRED_AGENTS: apis
          .map((a) => a.agent)
          .filter(isAgentId)
          .join(','),
        OUTPOST_UPDATE_TRUSTED_KEYS: keys.publicBase64,
        // One server, not a hub cluster of three: the fleet service's buckets have one replica.
        OUTPOST_FLEET_REPLICAS: '1',
        // No maintenance window of the cookbook is long enough, so the orchestrator downloads and
        // waits, whatever the time of day the test runs at.
        OUTPOST_ORCHESTRATOR_EXPECTED_UPDATE_MINUTES: '1440',
        OUTPOST_ORCHESTRATOR_JITTER_PERCENT: '0',
        OUTPOST_ORCHESTRATOR_UPDATE_STATUS_POLL_MS: '200',
      }),
    );
  });

  afterAll(async () => {
    await restarting.catch(() => undefined);
    await suite?.stop('test done');
    await nc?.close();
    await nats?.stop();
    await http.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs every agent of the catalog', () => {
    const missing = apis.filter((api) => !DEFINITIONS[api.agent]).map((api) => api.agent);
    expect(missing).toEqual([]);
  });

  it('executes every sample; every command and event of the catalog has one', async () => {
    const markdown = readFileSync(DOC, 'utf8');
    const blocks = fencedBlocks(markdown);
    const runner = new CookbookRunner(nc, join(dir, 'operator'), { actedOn });
    /** Output blocks: the ```text right after a ```sh block, with what its last command printed. */
    const outputs: { block: FencedBlock; output: string; schemaCheck: (text: string) => void }[] = [];
    for (const [i, block] of blocks.entries()) {
      if (block.lang !== 'sh') continue;
      let last = '';
      let check: (text: string) => void = () => undefined;
      for (const pipeline of parseShell(block.body, block.line)) {
        last = await runner.run(pipeline);
        check = runner.lastCheck;
        await restarting;
      }
      const next = blocks[i + 1];
      if (next?.lang === 'text' && markdown.slice(block.end, next.start).match(/^```\n\s*```text\n$/))
        outputs.push({ block: next, output: last, schemaCheck: check });
    }
    const firstMessages = await runner.closeSubscriptions();
    expect(firstMessages.size).toBe(runner.subscribed.length);

    // Complete by construction: a command or event added to the catalog needs a sample here.
    const commands = apis.flatMap((api) => Object.values(api.cmd).map((d) => d.pattern));
    expect(commands.filter((p) => !runner.succeeded.has(p))).toEqual([]);
    const events = apis.flatMap((api) => Object.values(api.evt).map((d) => d.subject(NODE_ID)));
    expect(events.filter((s) => !runner.subscribed.some((pattern) => subjectMatches(pattern, s)))).toEqual(
      [],
    );
    expect(runner.failedAsDocumented.size).toBeGreaterThan(0);

    // Every subject written in the prose and tables is one of the catalog.
    const known = apis.flatMap((api) =>
      [...Object.values(api.cmd), ...Object.values(api.evt)].map((d) =>
        d.subject(NODE_ID).replace(NODE_ID, '$NODE'),
      ),
    );
    for (const [subject] of markdown.matchAll(/edge\.\$NODE\.[a-z-]+\.(?:cmd|evt)\.[a-z-]+/g))
      expect(known).toContain(subject);

    if (WRITE) {
      let rewritten = markdown;
      for (const { block, output } of [...outputs].reverse())
        rewritten = rewritten.slice(0, block.start) + output + rewritten.slice(block.end);
      writeFileSync(DOC, rewritten);
    } else {
      for (const { block, schemaCheck } of outputs) schemaCheck(block.body);
    }
  });
});
