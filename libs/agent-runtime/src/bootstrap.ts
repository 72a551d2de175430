/**
 * Starting and stopping agents. `startSuite` runs one or more agents in this process over one NATS
 * connection: config (fail fast), logging, device, node identity, bus, JetStream assets, then one Nest
 * microservice per agent with the Outpost transport and a status reporter. `stop` drains: STOPPING is
 * published, no new requests are taken, those in flight are answered, then the connection drains.
 * `runMain` is what an app's main.ts calls: it adds signals, sd_notify and exit codes.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Module, type DynamicModule, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  BusClient,
  BusExceptionFilter,
  connectBus,
  openStores,
  OutpostNatsServer,
  provisionJetStream,
  type BusStores,
} from '@outpost/bus';
import { inboxPrefixOf, isHubServiceId, natsUserOf, type ServiceId } from '@outpost/contracts';
import { LinuxDevice, SimulatedDevice, type Device } from '@outpost/device';
import type { AgentDefinition } from './agent-definition.js';
import { commonSettings } from './config/common.settings.js';
import { loadConfig } from './config/load.js';
import { readCredsFile, readNkeySeed, resolveNkeyFile } from './config/nats-credentials.js';
import { resolvePaths } from './config/paths.js';
import { ConfigError, type SettingsSpec } from './config/settings.js';
import { resolveNodeIdentity } from './identity/node-identity.js';
import { JsonLogger } from './logging/json-logger.js';
import { RuntimeModule, type AgentContext, type CommonSettings } from './runtime.module.js';
import { StatusReporter } from './status/status-reporter.js';
import { SystemdNotifier } from './systemd/notifier.js';
import { OUTPOST_VERSION } from './version.js';

/** A node agent's or a hub service's definition: the runtime starts either. */
type AnyDefinition = AgentDefinition<SettingsSpec, ServiceId>;

export interface SuiteOptions {
  /** Environment to read settings from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Name in logs and in the NATS connection name (default: the agent id, or edge-node). */
  name?: string;
  logger?: JsonLogger;
}

export interface RunningAgent {
  readonly definition: AnyDefinition;
  readonly app: INestMicroservice;
  readonly server: OutpostNatsServer;
  readonly status: StatusReporter;
}

export class RunningSuite {
  private stopping?: Promise<void>;

  constructor(
    readonly nodeId: string,
    readonly connection: NatsConnection,
    readonly agents: readonly RunningAgent[],
    readonly logger: JsonLogger,
    readonly common: CommonSettings,
    readonly device: Device,
    /** Resolves on a simulated reboot, including one requested while the agents were starting. */
    readonly rebooted: Promise<'reboot'>,
  ) {}

  /** Graceful stop; safe to call more than once. */
  stop(reason = 'shutdown requested'): Promise<void> {
    this.stopping ??= this.drain(reason);
    return this.stopping;
  }

  private async drain(reason: string): Promise<void> {
    this.logger.log(`stopping: ${reason}`, 'Runtime');
    await Promise.all(this.agents.map((a) => a.status.stopping(reason)));
    await Promise.all(this.agents.map((a) => a.app.close()));
    if (!this.connection.isClosed()) {
      // Draining needs the server; with the server away, close instead of hanging or throwing.
      await this.connection.drain().catch(() => this.connection.close());
    }
    this.logger.log('stopped', 'Runtime');
  }
}

export async function startSuite(
  definitions: readonly AnyDefinition[],
  options: SuiteOptions = {},
): Promise<RunningSuite> {
  if (definitions.length === 0) throw new ConfigError('no agent to start');
  const env = options.env ?? process.env;
  const paths = resolvePaths(env);
  const common = loadConfig(commonSettings, paths.configDir, 'outpost', env);
  const name = options.name ?? (definitions.length === 1 ? definitions[0].agent : 'edge-node');
  const baseLogger = options.logger ?? new JsonLogger({ agent: name }, common.logLevel);
  // Every agent's settings are validated before anything connects: a bad file stops the start.
  const settings = definitions.map((d) => loadConfig(d.settings, paths.configDir, d.agent, env));

  const nkeyFile = resolveNkeyFile(common.natsNkeyFile, env);
  const nkeySeed = nkeyFile ? await readNkeySeed(nkeyFile) : undefined;
  const creds = common.natsCredsFile ? await readCredsFile(common.natsCredsFile) : undefined;
  const natsUser = natsUserOf(definitions.map((d) => d.agent));

  const device = await openDevice(common, paths.stateDir);
  // Watched from the start: an agent may finish a pending reboot (a rollback) while it starts.
  const rebooted = simulatedReboot(device);
  const identity = await resolveNodeIdentity(device, paths.stateDir, common.nodeId, baseLogger);
  const nodeId = identity.nodeId;
  const logger = baseLogger.with({ node: nodeId });
  const auth = creds
    ? `with the credentials in ${common.natsCredsFile}`
    : nkeyFile
      ? `as NATS user ${natsUser} (nkey ${nkeyFile})`
      : 'without an nkey';
  logger.log(`node ${nodeId} (${device.kind} device), connecting to ${common.natsUrl} ${auth}`, 'Runtime');

  const connection = await connectBus(
    {
      servers: common.natsUrl.split(',').map((s) => s.trim()),
      name: `outpost-${name}@${nodeId}`,
      user: common.natsUser || undefined,
      pass: common.natsPassword || undefined,
      nkeySeed,
      creds,
      inboxPrefix: inboxPrefixOf(natsUser),
    },
    logger,
  );
  const started: RunningAgent[] = [];
  try {
    // With NATS users, JetStream is provisioned at install time and the agents only bind; a development
    // server without users is provisioned by whoever starts first, as before.
    const anonymous = !nkeySeed && !creds && !common.natsUser;
    // The agents' streams are theirs to create there (several simulated nodes may share the server).
    // Hub services (HUB_SERVICE_IDS) create no node event stream on the hub: its subjects
    // (edge.*.*.evt.>) would draw every node's events over the leaf links a second time.
    const onHub = definitions.every((d) => isHubServiceId(d.agent));
    if (anonymous) await provisionJetStream(connection, { nodeId, agentStreams: false, events: !onHub });
    const stores = await openStores(connection, anonymous ? 'agents' : 'install');
    const client = new BusClient(connection, { nodeId, defaultTimeoutMs: common.requestTimeoutMs });
    // Side by side, not one after the other: while one agent waits on the bus or the disk (a first
    // hardware scan, KV reads), the others build their Nest apps (docs/performance.md, start-up).
    const results = await Promise.allSettled(
      definitions.map((definition, i) => {
        const context: AgentContext = {
          nodeId,
          agent: definition.agent,
          version: OUTPOST_VERSION,
          instanceId: randomUUID(),
          startedAt: new Date(),
          identity,
          paths,
          device,
          common,
        };
        return startAgent(definition, context, settings[i], client, stores, logger, connection);
      }),
    );
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await Promise.all(started.map((a) => a.status.stopping('start failed')));
    await Promise.all(started.map((a) => a.app.close().catch(() => undefined)));
    await connection.close();
    throw err;
  }
  return new RunningSuite(nodeId, connection, started, logger, common, device, rebooted);
}

async function startAgent(
  definition: AnyDefinition,
  context: AgentContext,
  settings: unknown,
  client: BusClient,
  stores: BusStores,
  suiteLogger: JsonLogger,
  connection: NatsConnection,
): Promise<RunningAgent> {
  const logger = suiteLogger.with({ agent: definition.agent });
  const status = new StatusReporter(
    connection,
    stores.status,
    {
      nodeId: context.nodeId,
      agent: definition.agent,
      version: context.version,
      instanceId: context.instanceId,
      startedAt: context.startedAt,
      intervalMs: context.common.statusIntervalMs,
    },
    logger,
  );
  status.start();
  const server = new OutpostNatsServer({
    connection,
    nodeId: context.nodeId,
    agent: definition.agent,
    version: context.version,
    description: definition.description,
    logger,
  });
  const root = agentRootModule(definition, { context, settings, client, stores, status, logger });
  let app: INestMicroservice | undefined;
  try {
    app = await NestFactory.createMicroservice(root, { strategy: server, logger, abortOnError: false });
    app.useGlobalFilters(new BusExceptionFilter());
    await app.listen();
  } catch (err) {
    await status.stopping(`start failed: ${(err as Error).message}`);
    await app?.close().catch(() => undefined);
    throw err;
  }
  // READY means serving: the server has our subscriptions before anyone is told so.
  await connection.flush();
  status.markStarted();
  return { definition, app, server, status };
}

function agentRootModule(
  definition: AnyDefinition,
  providers: Parameters<typeof RuntimeModule.forAgent>[0],
): DynamicModule {
  // One root module class per agent instance, so several agents can share a process.
  class AgentRootModule {}
  Object.defineProperty(AgentRootModule, 'name', { value: `${definition.agent}AgentRoot` });
  Module({})(AgentRootModule);
  return { module: AgentRootModule, imports: [RuntimeModule.forAgent(providers), definition.module] };
}

/** Start attempts before giving up (the unit's Restart= takes over then): a bus blip is not fatal. */
const START_ATTEMPTS = 5;

async function startWithRetries(
  definitions: readonly AnyDefinition[],
  options: MainOptions,
  logger: JsonLogger,
): Promise<RunningSuite | number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startSuite(definitions, options);
    } catch (err) {
      if (err instanceof ConfigError) {
        logger.error(`configuration: ${err.message}`, 'Runtime');
        return EXIT.config;
      }
      if (attempt >= START_ATTEMPTS) {
        logger.error(err, 'Runtime');
        return EXIT.failure;
      }
      const wait = 500 * 2 ** (attempt - 1);
      logger.warn(
        `start failed (${String(err)}); attempt ${attempt + 1} of ${START_ATTEMPTS} in ${wait} ms`,
        'Runtime',
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

function simulatedReboot(device: Device): Promise<'reboot'> {
  if (!(device instanceof SimulatedDevice)) return new Promise(() => undefined);
  // Resolve only: the reboot is requested from inside a handler, which must finish before the drain.
  return new Promise((resolve) => device.onReboot(() => resolve('reboot')));
}

async function openDevice(common: CommonSettings, stateDir: string): Promise<Device> {
  if (common.device === 'linux') {
    const privilege =
      common.bootPrivilege === 'auto'
        ? process.getuid?.() === 0
          ? 'direct'
          : 'helper'
        : common.bootPrivilege;
    return new LinuxDevice('/', {
      productUuidFile: common.productUuidFile,
      espDir: common.espDir || (await LinuxDevice.findEsp()) || '/efi',
      privilege,
      // The root-side helper reads its requests here (deploy/libexec/outpost-boot-helper).
      helperDir: join(stateDir, 'update', 'boot-helper'),
    });
  }
  if (!common.simulatorDir)
    throw new ConfigError('device is "simulated" but OUTPOST_SIM_DIR (simulatorDir) is empty');
  return SimulatedDevice.open(common.simulatorDir);
}

/** Exit codes an app uses (sysexits): systemd shows them, and Restart=on-failure acts on them. */
export const EXIT = { ok: 0, failure: 1, config: 78 } as const;

export interface MainOptions extends SuiteOptions {
  /** Called once the suite runs (e.g. to print how to inspect it). */
  onStarted?: (suite: RunningSuite) => void | Promise<void>;
}

/**
 * The whole life of an app process. Returns the exit code; the app's main.ts hands it to
 * process.exit, so the library itself never ends the process.
 */
export async function runMain(
  definitions: readonly AnyDefinition[],
  options: MainOptions = {},
): Promise<number> {
  const env = options.env ?? process.env;
  const name = options.name ?? (definitions.length === 1 ? definitions[0].agent : 'edge-node');
  const fallback = options.logger ?? new JsonLogger({ agent: name });
  const notifier = new SystemdNotifier(env, fallback);
  // Installed before anything starts, so a signal during start-up is not fatal either: the suite
  // finishes starting, then stops cleanly. They stay installed: a repeated signal is ignored.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    for (const name of ['SIGTERM', 'SIGINT'] as const) process.on(name, () => resolve(name));
  });
  let suite: RunningSuite;
  for (;;) {
    const started = await startWithRetries(definitions, options, fallback);
    if (typeof started === 'number') return started;
    suite = started;
    await notifier.notify('READY=1', `STATUS=serving node ${suite.nodeId}`);
    notifier.startWatchdog();
    await options.onStarted?.(suite);
    // On the simulator a reboot restarts every agent, as a real reboot would (on Linux, systemd does).
    const next = await Promise.race([signalled, suite.rebooted]);
    if (next !== 'reboot') break;
    notifier.stopWatchdog();
    await suite.stop('simulated reboot');
  }

  const signal = await signalled; // already settled when the loop ended
  notifier.stopWatchdog();
  await notifier.notify('STOPPING=1', `STATUS=stopping on ${signal}`);
  const timeout = new Promise<'timeout'>((resolve) =>
    setTimeout(resolve, suite.common.shutdownTimeoutMs, 'timeout').unref(),
  );
  const outcome = await Promise.race([
    suite.stop(`${signal} received`).then(
      () => 'done' as const,
      (err: unknown) => {
        suite.logger.error(`drain failed: ${String(err)}`, 'Runtime');
        return 'failed' as const;
      },
    ),
    timeout,
  ]);
  if (outcome === 'failed') return EXIT.failure;
  if (outcome === 'timeout') {
    suite.logger.error(`drain did not finish within ${suite.common.shutdownTimeoutMs} ms`, 'Runtime');
    return EXIT.failure;
  }
  return EXIT.ok;
}
