import { afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { access, chmod, constants, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { LoggerService } from '@nestjs/common';
import { SystemdNotifier } from './notifier.js';

const SYSTEMD_NOTIFY = '/usr/bin/systemd-notify';

/**
 * Binds an AF_UNIX datagram socket at argv[1] and prints "LISTENING", then each datagram as one JSON
 * string per line. When its stdin closes it prints what is still queued and exits; it gives up after 10 s.
 */
const LISTENER = `
import json, os, select, socket, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print('LISTENING', flush=True)
show = lambda data: print(json.dumps(data.decode('utf-8', 'replace')), flush=True)
deadline = time.monotonic() + 10
try:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print('TIMEOUT', flush=True)
            break
        ready, _, _ = select.select([s, sys.stdin], [], [], left)
        if s in ready:
            show(s.recv(65536))
        elif sys.stdin in ready and os.read(0, 1024) == b'':
            s.setblocking(False)
            try:
                while True:
                    show(s.recv(65536))
            except BlockingIOError:
                pass
            break
finally:
    s.close()
    os.unlink(path)
`;

/** A datagram socket served by a real python3 process. */
class Listener {
  /** Datagrams received so far, in order. */
  readonly datagrams: string[] = [];
  readonly done: Promise<number | null>;
  private readonly waiters: (() => void)[] = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, Readable>) {
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.done = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static async start(path: string): Promise<Listener> {
    const child = spawn('python3', ['-c', LISTENER, path], { stdio: ['pipe', 'pipe', 'pipe'] });
    const listener = new Listener(child);
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        if (line === 'LISTENING') resolve();
        else if (line === 'TIMEOUT') listener.stderr += 'listener timed out\n';
        else listener.datagrams.push(JSON.parse(line) as string);
        listener.waiters.splice(0).forEach((wake) => wake());
      });
      child.on('exit', (code) =>
        reject(new Error(`listener exited (${code}) before listening: ${listener.stderr}`)),
      );
    });
    return listener;
  }

  /** The datagrams other than sd_notify_barrier's BARRIER=1 (systemd-notify sends one after each message). */
  get messages(): string[] {
    return this.datagrams.filter((d) => d !== 'BARRIER=1');
  }

  /** Resolves once a received datagram holds `assignment` as one of its lines. */
  async waitFor(assignment: string): Promise<void> {
    while (!this.messages.some((m) => m.split('\n').includes(assignment))) {
      await Promise.race([new Promise<void>((wake) => this.waiters.push(wake)), this.done]);
      if (this.child.exitCode !== null && !this.messages.some((m) => m.split('\n').includes(assignment))) {
        throw new Error(`listener exited without receiving ${assignment}: ${JSON.stringify(this.datagrams)}`);
      }
    }
  }

  /** Stops listening once everything sent so far is printed; returns every datagram. */
  async close(): Promise<string[]> {
    this.child.stdin.end();
    const code = await this.done;
    expect({ code, stderr: this.stderr }).toEqual({ code: 0, stderr: '' });
    return this.datagrams;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** A LoggerService that keeps its warnings. */
class Log implements LoggerService {
  readonly warnings: string[] = [];
  readonly others: string[] = [];
  log(message: unknown): void {
    this.others.push(String(message));
  }
  error(message: unknown): void {
    this.others.push(String(message));
  }
  warn(message: unknown, context?: string): void {
    this.warnings.push(`${context}: ${String(message)}`);
  }
}

describe('SystemdNotifier', () => {
  let dir: string;
  let log: Log;
  const listeners: Listener[] = [];
  const notifiers: SystemdNotifier[] = [];

  beforeAll(async () => {
    await access(SYSTEMD_NOTIFY, constants.X_OK).catch(() => {
      throw new Error(
        `${SYSTEMD_NOTIFY} is missing: install systemd (apt-get install systemd) to run these tests`,
      );
    });
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-notify-'));
    log = new Log();
  });
  afterEach(async () => {
    notifiers.splice(0).forEach((n) => n.stopWatchdog());
    for (const l of listeners.splice(0)) {
      l.kill();
      await l.done;
    }
    await rm(dir, { recursive: true, force: true });
  });

  async function listen(): Promise<{ socket: string; listener: Listener }> {
    const socket = join(dir, 'notify.sock');
    const listener = await Listener.start(socket);
    listeners.push(listener);
    return { socket, listener };
  }

  function notifier(env: NodeJS.ProcessEnv, command?: string): SystemdNotifier {
    const n = new SystemdNotifier(env, log, command);
    notifiers.push(n);
    return n;
  }

  it('sends READY=1 with a status, then STOPPING=1, through systemd-notify to NOTIFY_SOCKET', async () => {
    const { socket, listener } = await listen();
    const n = notifier({ NOTIFY_SOCKET: socket, PATH: process.env.PATH });
    expect(n.enabled).toBe(true);
    await n.notify('READY=1', 'STATUS=serving 3 agents');
    await n.notify('STOPPING=1');
    await listener.close();
    expect(listener.messages.map((m) => m.split('\n'))).toEqual([
      expect.arrayContaining(['READY=1', 'STATUS=serving 3 agents']),
      expect.arrayContaining(['STOPPING=1']),
    ]);
  });

  it('sends WATCHDOG=1 pings when systemd asks this process for them', async () => {
    const { socket, listener } = await listen();
    const n = notifier({
      NOTIFY_SOCKET: socket,
      PATH: process.env.PATH,
      WATCHDOG_USEC: '1000000',
      WATCHDOG_PID: String(process.pid),
    });
    n.startWatchdog();
    await listener.waitFor('WATCHDOG=1');
    n.stopWatchdog();
    expect(listener.messages[0]?.split('\n')).toContain('WATCHDOG=1');
  });

  describe('command runs only with NOTIFY_SOCKET', () => {
    let marker: string;
    let command: string;

    beforeEach(async () => {
      // A real executable in place of systemd-notify, leaving its arguments and socket in a file.
      marker = join(dir, 'ran');
      command = join(dir, 'fake-notify');
      await writeFile(command, '#!/bin/sh\nprintf \'%s\\n\' "$NOTIFY_SOCKET" "$@" > "$MARKER"\n');
      await chmod(command, 0o755);
    });

    it.each([
      ['no NOTIFY_SOCKET', {}],
      ['an empty NOTIFY_SOCKET', { NOTIFY_SOCKET: '' }],
    ])('with %s is disabled, resolves and spawns nothing', async (_what, env) => {
      const n = notifier({ ...env, MARKER: marker }, command);
      expect(n.enabled).toBe(false);
      await expect(n.notify('READY=1')).resolves.toBeUndefined();
      await expect(readFile(marker, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
      expect(log.warnings).toEqual([]);
    });

    it('with NOTIFY_SOCKET runs the command with the assignments and that environment', async () => {
      const n = notifier({ NOTIFY_SOCKET: '/run/test.sock', MARKER: marker }, command);
      expect(n.enabled).toBe(true);
      await n.notify('READY=1', 'STATUS=a b');
      expect(await readFile(marker, 'utf8')).toBe('/run/test.sock\nREADY=1\nSTATUS=a b\n');
    });
  });

  it.each([
    ['nobody listens on the socket', SYSTEMD_NOTIFY, 'Command failed'],
    ['the command does not exist', '/nonexistent/systemd-notify', 'ENOENT'],
  ])('resolves and warns when %s', async (_what, command, reason) => {
    const n = notifier({ NOTIFY_SOCKET: join(dir, 'nobody.sock') }, command);
    await expect(n.notify('READY=1', 'STATUS=x')).resolves.toBeUndefined();
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toContain(`Systemd: ${command} READY=1 STATUS=x failed:`);
    expect(log.warnings[0]).toContain(reason);
  });
});
