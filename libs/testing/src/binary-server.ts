// A test server as a local nats-server process on a free loopback port with its own temporary store.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, LOOPBACK } from './free-port.js';
import { resolveNatsServerBinary } from './nats-binary.js';
import type { NatsServerHandle, StartNatsServerOptions } from './nats-server.js';
import { Reaper } from './reaper.js';
import { PortInUseError, ServerProcess } from './server-process.js';

export async function startBinaryServer(opts: StartNatsServerOptions): Promise<NatsServerHandle> {
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
