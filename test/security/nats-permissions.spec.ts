/**
 * Least-privilege NATS on a real nats-server started with the configuration @outpost/nats-config
 * renders: JetStream provisioned once by the admin, then every agent under its own nkey user (split
 * mode) reaches READY, answers its commands and writes its KV status with no permission violation —
 * proof that the permission table grants everything the agents' code does. Each agent trying another
 * agent's command, another agent's KV key or `edge.>` is refused by the server, and the agent logs a
 * PERMISSIONS_VIOLATION line and keeps serving. Then the all-in-one edge-node user runs the suite.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm, type KV } from '@nats-io/kv';
import { nkeyAuthenticator, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { JsonLogger, startSuite, type AgentDefinition, type RunningSuite } from '@outpost/agent-runtime';
import { ClusterAgent } from '@outpost/agent-cluster';
import { HardwareAgent } from '@outpost/agent-hardware';
import { NodeAgent } from '@outpost/agent-node';
import { ObservabilityAgent } from '@outpost/agent-observability';
import { OrchestratorAgent } from '@outpost/agent-orchestrator';
import { TelemetryAgent } from '@outpost/agent-telemetry';
import { UpdateAgent } from '@outpost/agent-update';
import { BusClient, openStores } from '@outpost/bus';
import {
  AGENT_PERMISSIONS,
  CATALOG,
  ContractError,
  ErrorCode,
  KV_DESIRED,
  KV_STATUS,
  kvKeys,
  type AgentId,
  type CommandDef,
} from '@outpost/contracts';
import { provisionAsAdmin, readSeedFile, writeNatsConfig, type NatsConfigResult } from '@outpost/nats-config';
import {
  connectTo,
  eventually,
  freePort,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';

const NODE = 'perm1';
const AGENTS: AgentDefinition[] = [
  NodeAgent,
  HardwareAgent,
  ClusterAgent,
  UpdateAgent,
  OrchestratorAgent,
  TelemetryAgent,
  ObservabilityAgent,
];
/** A read-only command of each agent, to show it serves. */
const PROBE: Partial<Record<AgentId, string>> = {
  node: 'describe',
  hardware: 'inventory',
  cluster: 'status',
  update: 'status',
  orchestrator: 'status',
  telemetry: 'status',
  observability: 'status',
};
const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;

/** Log lines of a suite, kept for assertions. */
class LogLines {
  readonly lines: string[] = [];
  write(line: string) {
    this.lines.push(line);
  }
  /** The messages of the PERMISSIONS_VIOLATION lines. */
  violations(): string[] {
    return this.lines
      .map((l) => String((JSON.parse(l) as { msg: unknown }).msg))
      .filter((m) => m.startsWith('PERMISSIONS_VIOLATION'));
  }
}

interface Harness {
  nats: NatsServerHandle;
  config: NatsConfigResult;
  admin: NatsConnection;
  status: KV;
  desired: KV;
  dir: string;
}

async function startHarness(mode: 'split' | 'all-in-one'): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), `outpost-perm-${mode}-`));
  const config = await writeNatsConfig({
    nodeId: NODE,
    outDir: join(dir, 'nats'),
    storeDir: join(dir, 'js'),
    mode,
  });
  const nats = await startNatsServer({ configFile: config.configFile });
  const adminSeed = seedOf(config, 'admin');
  await provisionAsAdmin(nats.url, adminSeed, NODE);
  const admin = await connectTo(nats, { authenticator: nkeyAuthenticator(await readSeedFile(adminSeed)) });
  const kvm = new Kvm(admin);
  return { nats, config, admin, dir, status: await kvm.open(KV_STATUS), desired: await kvm.open(KV_DESIRED) };
}

async function stopHarness(h: Harness | undefined): Promise<void> {
  await h?.admin.close();
  await h?.nats.stop();
  if (h) await rm(h.dir, { recursive: true, force: true });
}

function seedOf(config: NatsConfigResult, user: string): string {
  const u = config.users.find((x) => x.name === user);
  if (!u) throw new Error(`no user ${user}`);
  return u.seedFile;
}

function envFor(h: Harness, user: string): NodeJS.ProcessEnv {
  return simulatedNodeEnv(h.dir, h.nats.url, {
    OUTPOST_NODE_ID: NODE,
    OUTPOST_NATS_NKEY_FILE: seedOf(h.config, user),
    OUTPOST_STATUS_INTERVAL_MS: '300',
  });
}

async function expectReady(h: Harness, agent: AgentId): Promise<void> {
  await eventually(async () => {
    const entry = await h.status.get(kvKeys.status(NODE, agent));
    expect(entry && json({ data: entry.value } as Msg).state).toBe('AGENT_STATE_READY');
  });
}

async function expectServes(h: Harness, agent: AgentId): Promise<void> {
  const verb = PROBE[agent];
  if (!verb) throw new Error(`no probe command for ${agent}`);
  const reply = await h.admin.request(`edge.${NODE}.${agent}.cmd.${verb}`, '{}', { timeout: 5000 });
  expect(reply.headers?.get('Nats-Service-Error-Code') ?? '').toBe('');
}

/** A command of some other agent that `agent` is not granted to call. */
function foreignCommand(agent: AgentId): CommandDef {
  const granted = new Set<string>(AGENT_PERMISSIONS[agent].calls);
  for (const api of Object.values(CATALOG)) {
    if (api.agent === agent) continue;
    const def = Object.values(api.cmd).find((d) => !granted.has(d.pattern));
    if (def) return def;
  }
  throw new Error(`every command is granted to ${agent}`);
}

describe('agents under their own NATS users (split mode)', () => {
  let h: Harness;
  const suites = new Map<AgentId, { suite: RunningSuite; log: LogLines }>();

  beforeAll(async () => {
    h = await startHarness('split');
    // The fleet telemetry profile the telemetry agent watches (written by an operator, here the admin).
    await h.desired.put('fleet.telemetry', JSON.stringify({ entries: [] }));
    for (const definition of AGENTS) {
      const log = new LogLines();
      const suite = await startSuite([definition], {
        env: envFor(h, definition.agent),
        logger: new JsonLogger({ agent: definition.agent }, 'info', log),
      });
      suites.set(definition.agent, { suite, log });
    }
  });

  afterAll(async () => {
    for (const { suite } of [...suites.values()].reverse()) await suite.stop('test done');
    await stopHarness(h);
  });

  it.each(AGENTS.map((a) => a.agent))('%s reaches READY, serves and writes its KV status', async (agent) => {
    await expectReady(h, agent);
    await expectServes(h, agent);
  });

  it('the granted cross-agent work happens: node health sees every agent, telemetry writes its effective config', async () => {
    await eventually(async () => {
      const reply = json(await h.admin.request(`edge.${NODE}.node.cmd.health`, '{}', { timeout: 5000 }));
      const agents = (reply.agents as { agent: string; state: string }[]).map((a) => `${a.agent}:${a.state}`);
      for (const a of AGENTS) expect(agents).toContain(`${a.agent}:AGENT_STATE_READY`);
    });
    await eventually(async () => expect(await h.status.get(kvKeys.telemetryEffective(NODE))).not.toBeNull());
    await eventually(async () => expect(await h.status.get(kvKeys.nodeHealth(NODE))).not.toBeNull());
  });

  it('the observability agent buffers into its own stream while its exporter is away', async () => {
    const closed = await freePort(); // nothing listens there: every OTLP export fails
    await h.desired.put(
      `${NODE}.telemetry`,
      JSON.stringify({
        entries: [
          {
            input: 'cpu',
            type: 'TELEMETRY_SIGNAL_METRICS',
            kind: 'TELEMETRY_KIND_HOST',
            level: 'TELEMETRY_LEVEL_INFO',
            intervalSeconds: 1,
          },
        ],
        exporters: { otlpHttp: { endpoint: `http://127.0.0.1:${closed}` } },
      }),
    );
    await eventually(async () => {
      const status = json(
        await h.admin.request(`edge.${NODE}.observability.cmd.status`, '{}', { timeout: 5000 }),
      );
      const buffered = (status.exporters as { buffer?: { stream: string; depth?: string } }[])
        .map((e) => e.buffer)
        .filter((b) => b !== undefined && Number(b.depth ?? 0) > 0);
      expect(buffered.map((b) => b?.stream)).toContain('OBS_BUFFER_OTLP_METRICS');
    });
  });

  it('no agent hits a permission violation doing its own work', () => {
    for (const [agent, { log }] of suites)
      expect({ agent, violations: log.violations() }).toEqual({ agent, violations: [] });
  });

  it('the server allows every call in the table, and the orchestrator its rollout-lease compare-and-set', async () => {
    for (const [agent, { suite }] of suites) {
      // Without a reply subject the callee rejects the message in its log and does nothing.
      for (const call of AGENT_PERMISSIONS[agent].calls)
        suite.connection.publish(`edge.${NODE}.${call}`, '{}');
      await suite.connection.flush();
    }
    const orchestrator = suites.get('orchestrator');
    if (!orchestrator) throw new Error('orchestrator is not running');
    const { status } = await openStores(orchestrator.suite.connection);
    const key = kvKeys.rolloutLease('canary', 0);
    const revision = await status.create(key, 'held');
    await status.update(key, 'renewed', revision);
    expect(new TextDecoder().decode((await status.get(key))?.value)).toBe('renewed');
    await status.delete(key);
    for (const [agent, { log }] of suites) {
      expect({ agent, violations: log.violations() }).toEqual({ agent, violations: [] });
    }
  });

  it.each(AGENTS.map((a) => a.agent))(
    "%s is refused another agent's command, KV key and edge.>, logs it and keeps serving",
    async (agent) => {
      const running = suites.get(agent);
      if (!running) throw new Error(`${agent} is not running`);
      const { suite, log } = running;
      const client = new BusClient(suite.connection, { nodeId: NODE, defaultTimeoutMs: 2000 });
      const foreign = foreignCommand(agent);
      const refused = await client.request(foreign, {} as never).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(ContractError);
      expect((refused as ContractError).code).toBe(ErrorCode.PERMISSION_DENIED);

      const other: AgentId = agent === 'update' ? 'node' : 'update';
      const stores = await openStores(suite.connection);
      await expect(stores.status.put(kvKeys.status(NODE, other), 'forged')).rejects.toThrow(/ermission/);

      const sub = suite.connection.subscribe('edge.>');
      await suite.connection.flush();
      await eventually(() => {
        const lines = log.violations().join('\n');
        expect(lines).toContain(`publish on "${foreign.subject(NODE)}"`);
        expect(lines).toContain(`publish on "$KV.${KV_STATUS}.${kvKeys.status(NODE, other)}"`);
        expect(lines).toContain('subscription on "edge.>"');
      });
      sub.unsubscribe();
      // The forged key was not written, and the agent still serves.
      const entry = await h.status.get(kvKeys.status(NODE, other));
      expect(new TextDecoder().decode(entry?.value)).not.toBe('forged');
      await expectServes(h, agent);
    },
  );
});

describe('every agent in one process under the edge-node user (all-in-one mode)', () => {
  let h: Harness;
  let suite: RunningSuite;
  const log = new LogLines();

  beforeAll(async () => {
    h = await startHarness('all-in-one');
    suite = await startSuite(AGENTS, {
      env: envFor(h, 'edge-node'),
      logger: new JsonLogger({ agent: 'edge-node' }, 'info', log),
    });
  });

  afterAll(async () => {
    await suite?.stop('test done');
    await stopHarness(h);
  });

  it('every agent is READY and serves, with no permission violation', async () => {
    for (const { agent } of AGENTS) {
      await expectReady(h, agent);
      await expectServes(h, agent);
    }
    expect(log.violations()).toEqual([]);
  });

  it('answers discovery once per agent over its one connection ($SRV.PING: one reply each)', async () => {
    const names = await eventually(async () => {
      const found: string[] = [];
      for await (const m of await h.admin.requestMany('$SRV.PING', '', { maxWait: 1000 }))
        found.push(String((json(m) as { name?: string }).name));
      expect(found.length).toBe(AGENTS.length);
      return found.sort();
    });
    expect(names).toEqual(AGENTS.map((a) => `outpost-${a.agent}`).sort());
    expect(log.violations()).toEqual([]);
  });

  it('the edge-node user is still refused edge.> and other nodes', async () => {
    const sub = suite.connection.subscribe('edge.>');
    suite.connection.publish(`edge.other.node.evt.heartbeat`, '{}');
    await suite.connection.flush();
    await eventually(() => {
      const lines = log.violations().join('\n');
      expect(lines).toContain('subscription on "edge.>"');
      expect(lines).toContain('publish on "edge.other.node.evt.heartbeat"');
    });
    sub.unsubscribe();
    await expectServes(h, 'node');
  });
});

describe('JetStream provisioning under least privilege', () => {
  let nats: NatsServerHandle | undefined;
  let dir: string;

  afterAll(async () => {
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('an agent cannot create the buckets; without provisioning its start fails with a clear error', async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-perm-noprov-'));
    const config = await writeNatsConfig({
      nodeId: NODE,
      outDir: join(dir, 'nats'),
      storeDir: join(dir, 'js'),
      mode: 'split',
    });
    nats = await startNatsServer({ configFile: config.configFile });
    const env = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_NODE_ID: NODE,
      OUTPOST_NATS_NKEY_FILE: seedOf(config, 'hardware'),
    });
    await expect(
      startSuite([HardwareAgent], {
        env,
        logger: new JsonLogger({ agent: 'hardware' }, 'error', new LogLines()),
      }),
    ).rejects.toThrow(/KV bucket edge_(desired|status) does not exist: provision JetStream at install time/);
    // Provisioning is the admin's: idempotent, and then the agent starts.
    await provisionAsAdmin(nats.url, seedOf(config, 'admin'), NODE);
    await provisionAsAdmin(nats.url, seedOf(config, 'admin'), NODE);
    const suite = await startSuite([HardwareAgent], {
      env,
      logger: new JsonLogger({ agent: 'hardware' }, 'error', new LogLines()),
    });
    await suite.stop('test done');
  });
});
