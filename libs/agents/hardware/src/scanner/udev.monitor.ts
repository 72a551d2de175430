/**
 * Hardware change events from `udevadm monitor --udev` for the block, net and usb subsystems.
 * udevadm is not everywhere (minimal images, containers, this CI machine): start() says whether it
 * runs, and a monitor that dies later is reported through onGone, so the agent falls back to
 * interval scans and says so instead of silently missing changes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseUdevMonitorLine, type UdevEvent } from '../domain/parse.js';

export const UDEV_SUBSYSTEMS = ['block', 'net', 'usb'] as const;

export interface UdevMonitorHandlers {
  onEvent(event: UdevEvent): void;
  /** The monitor stopped on its own (not through stop()). */
  onGone(reason: string): void;
}

export type UdevStart = { running: true } | { running: false; reason: string };

export class UdevMonitor {
  private child?: ChildProcess;
  private stopping = false;

  constructor(
    private readonly command: string,
    private readonly handlers: UdevMonitorHandlers,
  ) {}

  start(): Promise<UdevStart> {
    if (!this.command)
      return Promise.resolve({ running: false, reason: 'udevadm disabled by configuration' });
    const args = ['monitor', '--udev', ...UDEV_SUBSYSTEMS.map((s) => `--subsystem-match=${s}`)];
    const child = spawn(this.command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = child.stdout;
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-500);
    });
    if (stdout)
      createInterface({ input: stdout }).on('line', (line) => {
        const event = parseUdevMonitorLine(line);
        if (event && event.source === 'UDEV') this.handlers.onEvent(event);
      });
    return new Promise((resolve) => {
      let settled = false;
      child.once('spawn', () => {
        settled = true;
        resolve({ running: true });
      });
      child.once('error', (err: NodeJS.ErrnoException) => {
        const reason =
          err.code === 'ENOENT' ? `${this.command} not found` : `${this.command} failed: ${err.message}`;
        if (!settled) {
          settled = true;
          resolve({ running: false, reason });
        } else if (!this.stopping) this.handlers.onGone(reason);
      });
      child.once('exit', (code, signal) => {
        if (settled && !this.stopping) {
          this.handlers.onGone(
            `${this.command} monitor exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`,
          );
        }
      });
    });
  }

  stop(): void {
    this.stopping = true;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null)
      this.child.kill('SIGTERM');
  }
}
