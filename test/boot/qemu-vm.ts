/**
 * One Outpost node as a QEMU virtual machine: UEFI (OVMF, its own copy of the variable store), the
 * image's GPT disk, software emulation (no KVM here), `-no-reboot` so that a guest reboot ends the QEMU
 * process and this harness powers the machine on again with the same disk and the same EFI variables,
 * as firmware would. Network: QEMU user-mode only, `restrict=on` (no way out), the guest's NATS forwarded
 * to a host loopback port, and the guest's 10.0.2.100:80 forwarded to the host's image server on
 * 127.0.0.1 (guestfwd, one proxy process per connection). No bridge, no tap, no other host address.
 *
 * Two serial ports: ttyS0 is the kernel and systemd console (kept per boot, and timed as it arrives);
 * ttyS1 has a root shell (the test image's autologin getty), for `bootctl list` and `journalctl`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { access, copyFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
/** The guest side of the image server (fixed: the manifests are signed with URLs on it). */
export const IMAGE_SERVER_GUEST = { host: '10.0.2.100', port: 80 };

export interface VmOptions {
  /** Working directory: sockets, the EFI variables, console logs. */
  dir: string;
  /** The disk image (used in place: copy it first). */
  disk: string;
  /** Host loopback port forwarded to the guest's NATS (4222). */
  natsPort: number;
  /** Host loopback port of the image server the guest reaches at 10.0.2.100:80. */
  imagePort: number;
  /** More services the guest reaches at 10.0.2.100:<guestPort> (e.g. a log receiver), on host loopback. */
  forwards?: { guestPort: number; hostPort: number }[];
  memoryMiB?: number;
  cpus?: number;
}

export interface Boot {
  n: number;
  /** Host time (ms) QEMU was started: power-on. */
  poweredOnAt: number;
  exitedAt?: number;
  /** QEMU's exit: 0 after a guest reboot or power-off; a signal after a power cut. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** The console text of this boot, ANSI escapes removed. */
  console: string;
  /** When each console line arrived (ms after power-on). */
  lines: { at: number; text: string }[];
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;=?]*[A-Za-z]/g;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function connectUnix(path: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await access(path);
      const socket = connect(path);
      await once(socket, 'connect');
      return socket;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`cannot connect to ${path}: ${String(err)}`);
      await delay(50);
    }
  }
}

export class QemuVm {
  readonly boots: Boot[] = [];
  private proc?: ChildProcess;
  private shellSocket?: Socket;
  private shellText = '';
  private shellReady = false;
  private commandNo = 0;
  private log?: WriteStream;
  private stopping = false;
  private waiters = new Set<() => void>();
  /** Whether the harness powers the machine on again when QEMU exits by itself (a guest reboot). */
  autoPowerOn = true;

  private readonly opts: VmOptions;

  private constructor(opts: VmOptions) {
    this.opts = opts;
  }

  /** Makes the VM's own EFI variable store (a fresh copy of OVMF's template). */
  static async create(opts: VmOptions): Promise<QemuVm> {
    await copyFile(OVMF_VARS, join(opts.dir, 'OVMF_VARS.fd'));
    return new QemuVm(opts);
  }

  get current(): Boot {
    const boot = this.boots.at(-1);
    if (!boot) throw new Error('the VM was never powered on');
    return boot;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts QEMU (power-on) and attaches to both serial ports; resolves once the firmware runs. */
  async powerOn(): Promise<Boot> {
    if (this.running) throw new Error('the VM is already on');
    const { dir, disk, natsPort, imagePort } = this.opts;
    const n = this.boots.length + 1;
    const conSock = join(dir, 'console.sock');
    const shSock = join(dir, 'shell.sock');
    const proxy = new URL('./guestfwd-proxy.mjs', import.meta.url).pathname;
    const guestfwd = [
      { guestPort: IMAGE_SERVER_GUEST.port, hostPort: imagePort },
      ...(this.opts.forwards ?? []),
    ]
      .map(
        (f) =>
          `guestfwd=tcp:${IMAGE_SERVER_GUEST.host}:${f.guestPort}-cmd:${process.execPath} ${proxy} ${f.hostPort}`,
      )
      .join(',');
    const args = [
      ...['-machine', 'q35', '-accel', 'tcg', '-m', String(this.opts.memoryMiB ?? 1536)],
      ...['-smp', String(this.opts.cpus ?? 2), '-no-reboot', '-display', 'none', '-vga', 'none'],
      ...['-monitor', 'none', '-nodefaults'],
      ...['-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`],
      ...['-drive', `if=pflash,format=raw,unit=1,file=${join(dir, 'OVMF_VARS.fd')}`],
      ...['-drive', `file=${disk},format=raw,if=virtio,cache=writeback`],
      ...['-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${natsPort}-:4222,${guestfwd}`],
      ...['-device', 'virtio-net-pci,netdev=n0'],
      ...['-chardev', `socket,id=con,path=${conSock},server=on,wait=on`, '-serial', 'chardev:con'],
      ...['-chardev', `socket,id=sh,path=${shSock},server=on,wait=off`, '-serial', 'chardev:sh'],
    ];
    const boot: Boot = { n, poweredOnAt: Date.now(), console: '', lines: [] };
    this.boots.push(boot);
    this.log = createWriteStream(join(dir, `console-${n}.log`));
    this.log.write(`# qemu-system-x86_64 ${args.join(' ')}\n`);
    const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    // Never leave a machine running when the harness itself goes away.
    const reap = () => proc.kill('SIGKILL');
    process.once('exit', reap);
    proc.once('exit', () => process.removeListener('exit', reap));
    let qemuOut = '';
    proc.stdout?.on('data', (d: Buffer) => (qemuOut += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (qemuOut += d.toString()));
    proc.once('exit', (code, signal) => {
      boot.exitedAt = Date.now();
      boot.exit = { code, signal };
      this.log?.end(`\n# qemu exited (${code ?? signal}) ${qemuOut}\n`);
      this.shellSocket?.destroy();
      this.shellSocket = undefined;
      this.shellReady = false;
      this.wake();
      if (this.autoPowerOn && !this.stopping && code === 0)
        this.powerOn().catch((err: unknown) => this.log?.write(`# power-on failed: ${String(err)}\n`));
    });
    const con = await connectUnix(conSock, 30_000);
    let partial = '';
    con.on('data', (d: Buffer) => {
      const at = Date.now() - boot.poweredOnAt;
      this.log?.write(d);
      const text = d.toString('utf8').replace(ANSI, '').replace(/\r/g, '');
      boot.console += text;
      const parts = (partial + text).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) boot.lines.push({ at, text: line });
      this.wake();
    });
    con.on('error', () => undefined);
    const sh = await connectUnix(shSock, 30_000);
    sh.on('data', (d: Buffer) => {
      this.shellText = (this.shellText + d.toString('utf8').replace(/\r/g, '')).slice(-1_000_000);
      this.wake();
    });
    sh.on('error', () => undefined);
    this.shellSocket = sh;
    this.shellText = '';
    return boot;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Waits until `check` returns a value (re-checked on every console/shell/exit event). */
  private waitFor<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(poll);
        fn();
      };
      const poll = () => {
        try {
          const v = check();
          if (v !== undefined) done(() => resolve(v));
        } catch (err) {
          done(() => reject(err as Error));
        }
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}; console tail:\n${this.boots.at(-1)?.console.slice(-3000) ?? ''}`,
              ),
            ),
          ),
        timeoutMs,
      );
      this.waiters.add(poll);
      poll();
    });
  }

  /** The first console line of boot `n` (default: the current one) matching `re`; its time after power-on. */
  waitForConsole(re: RegExp, timeoutMs: number, n?: number): Promise<{ at: number; text: string }> {
    return this.waitFor(
      `console ${re} (boot ${n ?? 'current'})`,
      () => {
        const boot = n === undefined ? this.boots.at(-1) : this.boots[n - 1];
        return boot?.lines.find((l) => re.test(l.text));
      },
      timeoutMs,
    );
  }

  /** Waits for boot number `n` to have begun (the harness powers on again after a guest reboot). */
  waitForBoot(n: number, timeoutMs: number): Promise<Boot> {
    return this.waitFor(
      `boot ${n}`,
      () => (this.boots.length >= n ? this.boots[n - 1] : undefined),
      timeoutMs,
    );
  }

  /** Waits for QEMU to exit (the guest rebooted or powered off). */
  waitForExit(timeoutMs: number): Promise<Boot> {
    const boot = this.current;
    return this.waitFor(`QEMU exit of boot ${boot.n}`, () => (boot.exit ? boot : undefined), timeoutMs);
  }

  /**
   * Runs a command in the guest's root shell (ttyS1) and returns its output and exit status. The shell
   * is the autologin getty's, so it exists once the guest reached getty.target.
   */
  async shell(command: string, timeoutMs = 120_000): Promise<{ code: number; out: string }> {
    const socket = this.shellSocket;
    if (!socket) throw new Error('the VM is off');
    if (!this.shellReady) {
      // Nudge the getty until a root prompt answers, then make the shell quiet and plain.
      const started = Date.now();
      const marker = `@@READY${Date.now()}@@`;
      const half = marker.slice(0, 4);
      const rest = marker.slice(4);
      for (;;) {
        socket.write(
          `\nstty -echo -onlcr cols 300 2>/dev/null; export SYSTEMD_PAGER= SYSTEMD_COLORS=0 PAGER=cat; echo ${half}""${rest}\n`,
        );
        try {
          await this.waitFor(
            'the guest shell',
            () => (this.shellText.includes(marker) ? true : undefined),
            5_000,
          );
          break;
        } catch (err) {
          if (Date.now() - started > timeoutMs) throw err;
          if (!this.running) throw new Error('the VM went off while waiting for its shell');
        }
      }
      this.shellReady = true;
    }
    const n = ++this.commandNo;
    const begin = `@@B${n}@@`;
    const end = `@@E${n}@@`;
    this.shellText = '';
    socket.write(`echo ${begin}; ( ${command} ) 2>&1; echo ${end} $?\n`);
    const re = new RegExp(`${begin}\\n([\\s\\S]*?)${end} (\\d+)\\n`);
    const m = await this.waitFor(
      `\`${command}\` in the guest`,
      () => {
        if (!this.running) throw new Error(`the VM went off while running \`${command}\``);
        return re.exec(this.shellText) ?? undefined;
      },
      timeoutMs,
    );
    return { code: Number(m[2]), out: m[1] };
  }

  /** Power cut: QEMU is killed (SIGKILL); nothing the guest had not written reaches the disk. */
  async powerCut(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    const saved = this.autoPowerOn;
    this.autoPowerOn = false;
    proc.kill('SIGKILL');
    await once(proc, 'exit').catch(() => undefined);
    this.autoPowerOn = saved;
  }

  /** Stops the machine for good (no power-on after it). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.powerCut();
    this.shellSocket?.destroy();
  }
}
