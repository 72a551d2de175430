/**
 * Structured logs: one JSON object per line on stdout, fields {time, level, agent, node, context, msg}.
 * Under systemd (JOURNAL_STREAM set) each line starts with the syslog priority prefix (<3> error ...),
 * so journald files the entry at the right level while the rest of the line stays JSON.
 */
import type { LoggerService } from '@nestjs/common';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SYSLOG: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

export interface LogSink {
  write(line: string): unknown;
}

export class JsonLogger implements LoggerService {
  private readonly journal: boolean;

  constructor(
    private readonly fields: { agent: string; node?: string },
    private readonly level: LogLevel = 'info',
    private readonly sink: LogSink = process.stdout,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.journal = Boolean(env.JOURNAL_STREAM);
  }

  /** A logger with more fixed fields (e.g. the node id once it is known). */
  with(fields: { agent?: string; node?: string }): JsonLogger {
    return new JsonLogger({ ...this.fields, ...fields }, this.level, this.sink, {
      JOURNAL_STREAM: this.journal ? '1' : '',
    });
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (RANK[level] < RANK[this.level]) return;
    // Nest passes the context as the last string argument, and a stack before it for errors.
    const context =
      rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? String(rest.pop()) : undefined;
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      agent: this.fields.agent,
      node: this.fields.node,
      context,
      msg: message instanceof Error ? message.message : message,
    };
    if (message instanceof Error && message.stack) entry.stack = message.stack;
    const extra = rest.filter((r) => r !== undefined);
    if (extra.length > 0) entry.detail = extra.map((r) => (r instanceof Error ? (r.stack ?? r.message) : r));
    const line = JSON.stringify(entry);
    this.sink.write(`${this.journal ? `<${SYSLOG[level]}>` : ''}${line}\n`);
  }
}
