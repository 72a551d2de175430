// One local nats-server process: spawned, probed until it serves clients, stopped with SIGTERM then SIGKILL,
// its pid always known to a reaper so that it never outlives the tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as netConnect, Socket } from 'node:net';
import { LOOPBACK } from './free-port.js';
import { OutputTail } from './output-tail.js';
import type { Reaper } from './reaper.js';

const START_TIMEOUT_MS = 60_000; // a loaded machine; a server that listens is used at once
const STOP_GRACE_MS = 5_000;
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_INTERVAL_MS = 50;
const OUTPUT_TAIL_LINES = 200;

/** The server died because another process took its port first: start again on another. */
export class PortInUseError extends Error {}

/** One nats-server process: spawned, probed until it serves clients, stopped with SIGTERM then SIGKILL. */
export class ServerProcess {
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

function setReferenced(child: ChildProcess, pipes: Socket[], referenced: boolean): void {
  for (const handle of [child, ...pipes]) {
    if (referenced) handle.ref();
    else handle.unref();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
