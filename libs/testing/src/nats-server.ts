// Disposable NATS servers for tests. Every call gets its own server on a free port with a fresh JetStream
// store, so tests never touch (or get polluted by) the shared development server on 127.0.0.1:4222, can run
// in parallel, and can restart "their" server to exercise client reconnects without disturbing anyone else.
// A local nats-server binary is used by default; a NATS container when a Docker engine answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect, createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { StartedNatsContainer } from '@testcontainers/nats';

export interface NatsServerHandle {
  /** Client URL, e.g. nats://127.0.0.1:41234. Stays the same across restart() for the local binary. */
  url: string;
  port: number;
  /** JetStream store directory (inside the container when running under Docker). */
  storeDir: string;
  /** Stops the server and deletes its store. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops and starts the server again on the same port and store, resolving once it accepts clients.
   * With whileDown, starts again only once it resolves (an outage of a chosen length, e.g. of a cluster).
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

export interface StartNatsServerOptions {
  /**
   * Enable JetStream with `-js -sd <storeDir>` (default true). Pass false when configText has its own
   * `jetstream { store_dir: ... }` (nats-server refuses a store_dir given twice).
   */
  jetstream?: boolean;
  /**
   * Extra nats-server configuration file content (e.g. accounts), passed with -c. A function gets the
   * server's store directory, for configs that name files beside the store or need it in a block
   * (a `jetstream { domain: ... }` block keeps its domain: the -js/-sd flags only set what they name).
   */
  configText?: string | ((storeDir: string) => string);
  /**
   * Extra command-line arguments after the built-in ones (local binary only), e.g. a server name or
   * cluster flags. Ports named here or in configText should come from freePort().
   */
  args?: readonly string[];
  /**
   * A nats-server configuration file used as it is (e.g. one rendered by @outpost/nats-config, with its
   * users, permissions and JetStream store), passed with -c. The harness's address and port still win
   * (command-line flags override the file); JetStream and its store come from the file alone, because
   * nats-server refuses -sd next to a store_dir. Exclusive with configText.
   */
  configFile?: string;
}

const LOOPBACK = '127.0.0.1';
const START_TIMEOUT_MS = 60_000; // a loaded machine; a server that listens is used at once
const STOP_GRACE_MS = 5_000;
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_INTERVAL_MS = 50;
const OUTPUT_TAIL_LINES = 200;
const DOCKER_CHECK_TIMEOUT_MS = 3_000;
const CONTAINER_IMAGE = process.env.OUTPOST_TEST_NATS_IMAGE ?? 'nats:2.9.10-alpine';
const CONTAINER_STORE_DIR = '/data/jetstream';
const CONTAINER_CONFIG_FILE = '/etc/nats/outpost-test.conf';

// Options connectTo() must add for a handle that the plain URL cannot carry (the NATS testcontainer always
// enables user/password auth, and nats.js does not read credentials from the URL).
const extraConnectOptions = new WeakMap<NatsServerHandle, Partial<ConnectionOptions>>();

export async function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  if (opts.configText !== undefined && opts.configFile !== undefined) {
    throw new Error('startNatsServer: give configText or configFile, not both');
  }
  const forced = process.env.OUTPOST_TEST_NATS;
  if (forced !== undefined && forced !== '' && forced !== 'binary' && forced !== 'container') {
    throw new Error(`OUTPOST_TEST_NATS must be "binary" or "container", got "${forced}"`);
  }
  // Extra flags and host file paths (cluster and leaf topologies) only make sense for a local process.
  const needsBinary = opts.args !== undefined || typeof opts.configText === 'function';
  if (forced === 'binary' || (needsBinary && forced !== 'container')) return startBinaryServer(opts);
  if (forced === 'container') return startContainerServer(opts);
  if (await dockerAnswers()) {
    try {
      return await startContainerServer(opts);
    } catch (err) {
      // A reachable engine can still fail to pull or run the image (offline CI); the binary is equally valid.
      console.warn(`outpost-testing: NATS container failed, using the nats-server binary: ${String(err)}`);
    }
  }
  return startBinaryServer(opts);
}

/**
 * Connects to a test server as 'outpost-test'. Reconnect defaults are tuned for restart(): retry quickly, but
 * give up after ~15 s so a connection someone forgot to close does not keep the test runner alive for long.
 */
export async function connectTo(
  handle: NatsServerHandle,
  opts: Partial<ConnectionOptions> = {},
): Promise<NatsConnection> {
  return connect({
    servers: handle.url,
    name: 'outpost-test',
    // The handshake (TLS, nkey) on a machine that other work keeps busy: nats.js gives up after 20 s.
    timeout: 60_000,
    reconnectTimeWait: 200,
    maxReconnectAttempts: 75,
    ...extraConnectOptions.get(handle),
    ...opts,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Local nats-server binary

async function startBinaryServer(opts: StartNatsServerOptions): Promise<NatsServerHandle> {
  const bin = await resolveNatsServerBinary();
  const storeDir = await mkdtemp(join(tmpdir(), 'outpost-nats-'));
  const reaper = new Reaper(storeDir);
  try {
    const args = ['-a', LOOPBACK];
    if ((opts.jetstream ?? true) && opts.configFile === undefined) args.push('-js', '-sd', storeDir);
    if (opts.configText !== undefined) {
      // Inside the temp dir so the final stop removes it together with the store.
      const configFile = join(storeDir, 'outpost-test.conf');
      const text = typeof opts.configText === 'function' ? opts.configText(storeDir) : opts.configText;
      await writeFile(configFile, text);
      args.push('-c', configFile);
    }
    if (opts.configFile !== undefined) args.push('-c', opts.configFile);
    args.push(...(opts.args ?? []));
    // The free port is only reserved until we close the probe listener, so another process can grab it
    // before nats-server binds: retry a few times with a new port when that is why the server died.
    let port = 0;
    let server: ServerProcess | undefined;
    for (let attempt = 1; server === undefined; attempt++) {
      port = await freePort();
      try {
        server = await ServerProcess.start(bin, [...args, '-p', String(port)], port, reaper);
      } catch (err) {
        if (!(err instanceof PortInUseError) || attempt >= 3) throw err;
      }
    }
    return binaryHandle(bin, [...args, '-p', String(port)], port, storeDir, server, reaper);
  } catch (err) {
    reaper.release();
    await rm(storeDir, { recursive: true, force: true });
    throw err;
  }
}

function binaryHandle(
  bin: string,
  args: string[],
  port: number,
  storeDir: string,
  first: ServerProcess,
  reaper: Reaper,
): NatsServerHandle {
  let current: ServerProcess | undefined = first;
  let stopped: Promise<void> | undefined;
  // stop() and restart() are serialised so a stop during a restart cannot leave a fresh process behind.
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (op: () => Promise<void>): Promise<void> => {
    const run = queue.then(op, op);
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    url: `nats://${LOOPBACK}:${port}`,
    port,
    storeDir,
    stop() {
      stopped ??= enqueue(async () => {
        await current?.stop();
        current = undefined;
        reaper.release();
        await rm(storeDir, { recursive: true, force: true });
      });
      return stopped;
    },
    restart(whileDown) {
      if (stopped) return Promise.reject(new Error(`NATS test server on port ${port} was stopped`));
      return enqueue(async () => {
        await current?.stop();
        current = undefined;
        await whileDown?.();
        current = await ServerProcess.start(bin, args, port, reaper);
      });
    },
  };
}

class PortInUseError extends Error {}

/** One nats-server process: spawned, probed until it serves clients, stopped with SIGTERM then SIGKILL. */
class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    private readonly pipes: Socket[],
    private readonly exited: Promise<void>,
    private readonly reaper: Reaper,
  ) {}

  static async start(bin: string, args: string[], port: number, reaper: Reaper): Promise<ServerProcess> {
    const output = new OutputTail(OUTPUT_TAIL_LINES);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // 'close' rather than 'exit': it comes after the last output, which the error messages want.
    const exited = new Promise<void>((resolve) => {
      child.once('close', (code, signal) => {
        output.note(`[nats-server exited: ${signal ?? `code ${String(code)}`}]`);
        resolve();
      });
      // A failed spawn (e.g. EACCES) emits 'error' and may never emit 'close'.
      child.once('error', (err) => {
        output.note(`[spawn ${bin} failed: ${err.message}]`);
        resolve();
      });
    });
    const pipes = [child.stdout, child.stderr].filter((stream) => stream instanceof Socket);
    // Ours holds the port once it says so: until then an INFO on the port may come from another
    // process that took the free port first (a second copy of the suite, a hub's leafnode listener).
    const bound = `Listening for client connections on ${LOOPBACK}:${port}`;
    let listening = false;
    let recent = '';
    for (const pipe of pipes) {
      pipe.setEncoding('utf8');
      pipe.on('data', (chunk: string) => {
        output.push(chunk);
        if (listening) return;
        recent = (recent + chunk).slice(-4096);
        listening = recent.includes(bound);
      });
    }
    // A forgotten stop() must not keep the test runner alive; the reaper kills the server instead.
    setReferenced(child, pipes, false);
    reaper.track(child.pid);
    const server = new ServerProcess(child, pipes, exited, reaper);

    const deadline = Date.now() + START_TIMEOUT_MS;
    const state = { exited: false };
    void exited.then(() => (state.exited = true));
    while (!state.exited) {
      if (listening && (await acceptsNatsClients(port)) && !state.exited) return server;
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(
          `nats-server on ${LOOPBACK}:${port} did not accept clients within ${START_TIMEOUT_MS} ms ` +
            `(${bin} ${args.join(' ')}). Output:\n${output.text()}`,
        );
      }
      await sleep(PROBE_INTERVAL_MS);
    }
    await exited;
    server.reaper.track(undefined);
    const message =
      `nats-server exited before accepting clients on ${LOOPBACK}:${port} ` +
      `(${bin} ${args.join(' ')}). Output:\n${output.text()}`;
    throw /address already in use/i.test(output.text()) ? new PortInUseError(message) : new Error(message);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      // Keep the event loop alive until the exit is observed (child and pipes are normally unref'd).
      setReferenced(this.child, this.pipes, true);
      this.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
      });
      const killed = await Promise.race([this.exited.then(() => false), graceOver]);
      clearTimeout(timer);
      if (killed) this.child.kill('SIGKILL');
    }
    await this.exited;
    this.reaper.track(undefined);
  }
}

/** Resolves when something on the port speaks NATS: the server sends INFO before any auth, so this also works
 * with configs that require credentials. */
function acceptsNatsClients(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let received = '';
    const socket = netConnect({ host: LOOPBACK, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.startsWith('INFO ')) done(true);
      else if (received.length >= 5) done(false);
    });
  });
}

/**
 * Asks the kernel for a free loopback port by listening on port 0. The port is free when this resolves,
 * not reserved: use it right away (e.g. for the cluster or leafnode listener of a server about to start).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

/** The nats-server binary the harness runs: NATS_SERVER_BIN, else PATH, else /usr/sbin. */
export async function resolveNatsServerBinary(): Promise<string> {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`NATS_SERVER_BIN=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, 'nats-server'))
    .find(isExecutable);
  if (onPath) return onPath;
  if (isExecutable('/usr/sbin/nats-server')) return '/usr/sbin/nats-server';
  // Loaded only when needed: it may apt-install nats-server (as root) or throw install instructions. It is the
  // one script `npm start` uses too, and tools/scripts is not an Nx project, hence the relative import.
  // eslint-disable-next-line @nx/enforce-module-boundaries -- shared installer script outside any project
  const { ensureNatsServer } = await import('../../../tools/scripts/ensure-system-tools.mjs');
  return ensureNatsServer();
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Keeps the last N lines of server output for error messages, without growing with a chatty server. */
class OutputTail {
  private readonly lines: string[] = [];
  private next = 0;
  private partial = '';

  constructor(private readonly capacity: number) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = (parts.pop() ?? '').slice(-4096);
    for (const line of parts) {
      this.lines[this.next] = line.length > 2000 ? `${line.slice(0, 2000)}...` : line;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  /** Adds a line of our own, after any unterminated server line. */
  note(line: string): void {
    this.push(`${this.partial ? '\n' : ''}${line}\n`);
  }

  text(): string {
    const ordered = [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    if (this.partial) ordered.push(this.partial);
    return ordered.join('\n');
  }
}

// ---------------------------------------------------------------------------------------------------------
// Never leaking servers

// Synchronous last-resort cleanups of handles that were not stopped, run on process 'exit'. Registered only
// while something is live so repeated use does not pile up listeners.
const exitCleanups = new Set<() => void>();
const runExitCleanups = () => {
  for (const cleanup of exitCleanups) cleanup();
};

/**
 * Makes sure a handle's nats-server dies with us. A process 'exit' hook covers a normal exit of plain Node,
 * but Jest gives test files a copy of `process` whose 'exit' never fires, and nothing runs on SIGKILL. So each
 * handle also has a tiny watchdog process holding a pipe from us: when we die the pipe closes, and the
 * watchdog SIGKILLs the current server and removes the store. It is told the live pid over that pipe.
 */
class Reaper {
  private pid: number | undefined;
  private readonly watchdog: ChildProcess;
  private readonly cleanup = () => {
    if (this.pid !== undefined) killQuietly(this.pid);
    try {
      rmSync(this.storeDir, { recursive: true, force: true });
    } catch {
      // Best effort while exiting; the OS temp dir is cleaned eventually.
    }
  };

  constructor(private readonly storeDir: string) {
    this.watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, storeDir], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    this.watchdog.on('error', () => undefined); // without a watchdog we still have the exit hook
    this.watchdog.stdin?.on('error', () => undefined);
    this.watchdog.unref();
    if (this.watchdog.stdin instanceof Socket) this.watchdog.stdin.unref();
    if (exitCleanups.size === 0) process.on('exit', runExitCleanups);
    exitCleanups.add(this.cleanup);
  }

  track(pid: number | undefined): void {
    this.pid = pid;
    this.watchdog.stdin?.write(`pid ${pid ?? 0}\n`);
  }

  /** The handle was stopped properly: nothing left to reap. */
  release(): void {
    this.pid = undefined;
    this.watchdog.stdin?.end('done\n');
    exitCleanups.delete(this.cleanup);
    if (exitCleanups.size === 0) process.off('exit', runExitCleanups);
  }
}

// Runs as `node -e WATCHDOG_SOURCE storeDir`; reads "pid N" / "done" lines; EOF without "done" = parent died.
const WATCHDOG_SOURCE = `
const { rmSync } = require('node:fs');
const storeDir = process.argv[1];
let pid = 0, buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    if (line === 'done') process.exit(0);
    if (line.startsWith('pid ')) pid = Number(line.slice(4)) || 0;
  }
});
process.stdin.on('close', () => {
  if (pid > 0) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  try { rmSync(storeDir, { recursive: true, force: true, maxRetries: 5 }); } catch {}
  process.exit(0);
});
`;

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function setReferenced(child: ChildProcess, pipes: Socket[], referenced: boolean): void {
  for (const handle of [child, ...pipes]) {
    if (referenced) handle.ref();
    else handle.unref();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------------------
// Testcontainers

let dockerCheck: Promise<boolean> | undefined;

/** Cheap first (env / socket file), then a bounded ask of testcontainers; cached for the process. */
function dockerAnswers(): Promise<boolean> {
  dockerCheck ??= (async () => {
    if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('docker check timed out')), DOCKER_CHECK_TIMEOUT_MS);
      });
      await Promise.race([getContainerRuntimeClient(), timeout]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  })();
  return dockerCheck;
}

async function startContainerServer(opts: StartNatsServerOptions): Promise<NatsServerHandle> {
  if (opts.args !== undefined || typeof opts.configText === 'function' || opts.configFile !== undefined) {
    // configFile: its users would clash with the --user/--pass NatsContainer always adds, and it may name
    // host files.
    throw new Error(
      'startNatsServer: args, configFile and a configText function need the local nats-server binary (OUTPOST_TEST_NATS=binary)',
    );
  }
  const { NatsContainer } = await import('@testcontainers/nats');
  const definition = new NatsContainer(CONTAINER_IMAGE);
  if (opts.jetstream ?? true) definition.withJetStream().withArg('--store_dir', CONTAINER_STORE_DIR);
  if (opts.configText !== undefined) {
    // Note: NatsContainer always passes --user/--pass, which nats-server rejects next to a users list.
    definition
      .withCopyContentToContainer([{ content: String(opts.configText), target: CONTAINER_CONFIG_FILE }])
      .withArg('--config', CONTAINER_CONFIG_FILE);
  }
  const container: StartedNatsContainer = await definition.start();
  const clientPort = () => container.getMappedPort(4222);
  let stopped: Promise<void> | undefined;

  const handle: NatsServerHandle = {
    // Getters: Docker may map a different host port after a container restart.
    get url() {
      return `nats://${container.getHost()}:${clientPort()}`;
    },
    get port() {
      return clientPort();
    },
    storeDir: CONTAINER_STORE_DIR,
    stop() {
      stopped ??= container.stop().then(() => undefined);
      return stopped;
    },
    async restart(whileDown) {
      if (stopped) throw new Error('NATS test container was stopped');
      if (whileDown) {
        await container.stop({ remove: false });
        await whileDown();
        await container.restart();
        return;
      }
      // Restarting (not recreating) keeps the container filesystem, so the JetStream store survives.
      await container.restart();
    },
  };
  extraConnectOptions.set(handle, { user: container.username, pass: container.password });
  return handle;
}
