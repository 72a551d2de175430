/**
 * How outpostctl writes: human tables and key/value blocks, or JSON for scripts (--json). Times are
 * shown relative ("12s ago") next to the absolute instant where it matters.
 */
import type { Writable } from 'node:stream';

export interface Io {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Now, epoch ms (the CLI's clock; tests do not change it). */
  now(): number;
}

export function writeJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell; the header in capitals. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n';
}

/** `key: value` lines, keys aligned. */
export function block(title: string, pairs: [string, string][]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length)) + 1;
  return `${title}\n${pairs.map(([k, v]) => `  ${`${k}:`.padEnd(width)} ${v}`).join('\n')}\n`;
}

export function bytes(n: number | bigint): string {
  let v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

export function ago(then: number | undefined, now: number): string {
  if (then === undefined) return '-';
  return then <= now ? `${duration(now - then)} ago` : `in ${duration(then - now)}`;
}

/** Drops an enum's prefix: HEALTH_STATE_HEALTHY -> HEALTHY. */
export function enumName(value: string, prefix: string): string {
  return value.startsWith(prefix) ? value.slice(prefix.length) : value;
}

/** Indents every non-empty line. */
export function indent(text: string, by = '  '): string {
  return text.replace(/^(?=.)/gm, by);
}
