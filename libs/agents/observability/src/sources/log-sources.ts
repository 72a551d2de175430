/**
 * The log inputs: the journal of the Outpost units (`journalctl -o json -f`, where a journal exists)
 * and files, tailed rotation-safe. Each record is filtered by the input's level and handed on with
 * its severity; the pipeline emits it through the OpenTelemetry LoggerProvider.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { passes, severityName, severityOfLine, severityOfPriority } from '../domain/levels.js';
import { TelemetryLevel } from '@outpost/contracts';
import type { InputReport } from './sampled-input.js';

export interface LogRecordOut {
  severity: number;
  body: string;
  timeMs: number;
  attributes: Record<string, string | number>;
}

export type LogSink = (record: LogRecordOut) => void;

export interface LogSource {
  readonly report: InputReport;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function report(input: string, intervalSeconds: number, level: TelemetryLevel): InputReport {
  return {
    input,
    signal: 'logs',
    intervalSeconds,
    level: TelemetryLevel[level],
    collected: 0,
    lastError: '',
  };
}

/**
 * `journalctl -o json -f -u outpost-*`: new entries of the Outpost units from now on. If journalctl
 * is missing or ends (no journal on this machine), the error is reported and it is started again
 * after the input's interval.
 */
export class JournalSource implements LogSource {
  readonly report: InputReport;
  private child?: ChildProcess;
  private restart?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly level: TelemetryLevel,
    private readonly intervalSeconds: number,
    private readonly units: string,
    private readonly emit: LogSink,
    private readonly command = 'journalctl',
  ) {
    this.report = report('journal', intervalSeconds, level);
  }

  async start(): Promise<void> {
    this.spawn();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restart);
    const child = this.child;
    if (child && child.exitCode === null) {
      const ended = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      await ended;
    }
  }

  private spawn(): void {
    if (this.stopped) return;
    const child = spawn(this.command, ['-o', 'json', '-f', '-n', '0', '-u', this.units], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    child.on('error', (err) => (this.report.lastError = `${this.command}: ${err.message}`));
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => this.line(line));
    child.on('close', (code) => {
      if (this.stopped) return;
      this.report.lastError ||= `${this.command} ended (${code}): ${stderr.trim() || 'no journal'}`;
      this.restart = setTimeout(() => this.spawn(), this.intervalSeconds * 1000);
      this.restart.unref();
    });
  }

  private line(line: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const severity = severityOfPriority(Number(entry.PRIORITY ?? 6));
    if (!passes(severity, this.level)) return;
    const raw = entry.MESSAGE;
    const body = Array.isArray(raw) ? Buffer.from(raw as number[]).toString('utf8') : String(raw ?? '');
    const micros = Number(entry.__REALTIME_TIMESTAMP);
    this.report.collected++;
    this.report.lastError = '';
    this.report.lastCollectedAt = new Date();
    this.emit({
      severity,
      body,
      timeMs: Number.isFinite(micros) ? Math.floor(micros / 1000) : Date.now(),
      attributes: {
        'outpost.log.source': 'journal',
        'systemd.unit': String(entry._SYSTEMD_UNIT ?? ''),
        'process.pid': Number(entry._PID ?? 0),
      },
    });
  }
}

/**
 * A log file, read every interval from where it was left. Rotation-safe: when the path names a new
 * file (rename and create), the old one is read to its end first; when the file shrank (copy and
 * truncate), it is read again from the start. A file that does not exist yet is waited for. It
 * starts at the end of an existing file, like `tail -F`.
 */
export class FileTailSource implements LogSource {
  readonly report: InputReport;
  private handle?: FileHandle;
  private ino?: number;
  private offset = 0;
  private partial = '';
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly path: string,
    private readonly level: TelemetryLevel,
    private readonly intervalSeconds: number,
    private readonly emit: LogSink,
  ) {
    this.report = report(`file:${path}`, intervalSeconds, level);
  }

  async start(): Promise<void> {
    try {
      const s = await stat(this.path);
      this.handle = await open(this.path, 'r');
      this.ino = s.ino;
      this.offset = s.size;
    } catch (err) {
      this.report.lastError = `${this.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    }
    this.timer = setInterval(() => void this.poll(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  /** One read; exposed so tests and the first interval need not wait. */
  poll(): Promise<void> {
    this.running ??= this.step()
      .catch((err: unknown) => {
        this.report.lastError = `${this.path}: ${(err as Error).message}`;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async step(): Promise<void> {
    let current: Awaited<ReturnType<typeof stat>> | undefined;
    try {
      current = await stat(this.path);
    } catch {
      current = undefined;
    }
    if (this.handle && (!current || current.ino !== this.ino)) {
      // Rotated away: what was appended to the old file before the rename is read first.
      await this.drain();
      await this.handle.close();
      this.handle = undefined;
      this.flushPartial();
    }
    if (!current) return;
    if (!this.handle) {
      this.handle = await open(this.path, 'r');
      this.ino = current.ino;
      this.offset = 0;
    } else if (current.size < this.offset) {
      this.offset = 0; // truncated in place
      this.partial = '';
    }
    await this.drain();
    this.report.lastError = '';
  }

  private async drain(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    const chunk = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      const text = this.partial + chunk.toString('utf8', 0, bytesRead);
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.line(line);
    }
  }

  private flushPartial(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  private line(raw: string): void {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const severity = severityOfLine(line);
    if (!passes(severity, this.level)) return;
    this.report.collected++;
    this.report.lastCollectedAt = new Date();
    this.emit({
      severity,
      body: line,
      timeMs: Date.now(),
      attributes: { 'outpost.log.source': 'file', 'log.file.path': this.path, level: severityName(severity) },
    });
  }
}
