/**
 * sd_notify for systemd Type=notify units: READY=1 when every agent serves, STOPPING=1 on SIGTERM,
 * WATCHDOG=1 every half WatchdogSec. Node has no AF_UNIX datagram sockets, so the message goes
 * through the stock `systemd-notify` tool; the units set NotifyAccess=all to accept it. Outside
 * systemd (no NOTIFY_SOCKET) every call is a no-op.
 */
import { execFile } from 'node:child_process';
import type { LoggerService } from '@nestjs/common';

export class SystemdNotifier {
  private watchdog?: NodeJS.Timeout;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: LoggerService,
    private readonly command = 'systemd-notify',
  ) {}

  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  notify(...assignments: string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    return new Promise((resolve) => {
      execFile(this.command, assignments, { env: this.env, timeout: 5_000 }, (err) => {
        if (err)
          this.logger.warn(`${this.command} ${assignments.join(' ')} failed: ${err.message}`, 'Systemd');
        resolve();
      });
    });
  }

  /** Starts WATCHDOG=1 pings at half the interval systemd asks for (WATCHDOG_USEC), if it asks. */
  startWatchdog(): void {
    const usec = Number(this.env.WATCHDOG_USEC);
    const pid = Number(this.env.WATCHDOG_PID);
    if (!this.enabled || !Number.isFinite(usec) || usec <= 0) return;
    if (Number.isFinite(pid) && pid > 0 && pid !== process.pid) return;
    this.watchdog = setInterval(() => void this.notify('WATCHDOG=1'), Math.max(500, usec / 2000));
    this.watchdog.unref();
  }

  stopWatchdog(): void {
    clearInterval(this.watchdog);
  }
}
