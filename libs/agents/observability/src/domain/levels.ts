/**
 * Log levels: the telemetry profile's threshold (ERROR..TRACE), the severity of a journal entry
 * (syslog PRIORITY 0..7) and of a line of a file (a JSON "level" field, or a level word near the
 * start), and the OpenTelemetry severity numbers they map to. Pure.
 */
import { TelemetryLevel } from '@outpost/contracts';

/** Severity of one record, least to most verbose, in OpenTelemetry's severity numbers. */
export const Severity = { FATAL: 21, ERROR: 17, WARN: 13, INFO: 9, DEBUG: 5, TRACE: 1 } as const;
export type SeverityName = keyof typeof Severity;

/** The least severe record a threshold lets through. */
const FLOOR: Record<TelemetryLevel, number> = {
  [TelemetryLevel.UNSPECIFIED]: Severity.INFO,
  [TelemetryLevel.ERROR]: Severity.ERROR,
  [TelemetryLevel.WARN]: Severity.WARN,
  [TelemetryLevel.INFO]: Severity.INFO,
  [TelemetryLevel.DEBUG]: Severity.DEBUG,
  [TelemetryLevel.TRACE]: Severity.TRACE,
};

export function passes(severity: number, threshold: TelemetryLevel): boolean {
  return severity >= FLOOR[threshold];
}

export function severityName(severity: number): SeverityName {
  if (severity >= Severity.FATAL) return 'FATAL';
  if (severity >= Severity.ERROR) return 'ERROR';
  if (severity >= Severity.WARN) return 'WARN';
  if (severity >= Severity.INFO) return 'INFO';
  if (severity >= Severity.DEBUG) return 'DEBUG';
  return 'TRACE';
}

/** syslog PRIORITY (0 emerg .. 7 debug) of a journal entry. */
export function severityOfPriority(priority: number): number {
  if (priority <= 2) return Severity.FATAL;
  if (priority === 3) return Severity.ERROR;
  if (priority === 4) return Severity.WARN;
  if (priority <= 6) return Severity.INFO;
  return Severity.DEBUG;
}

const WORDS: [RegExp, number][] = [
  [/^(fatal|panic|crit(ical)?|emerg(ency)?|alert)$/i, Severity.FATAL],
  [/^(error|err)$/i, Severity.ERROR],
  [/^(warn(ing)?)$/i, Severity.WARN],
  [/^(info|notice|log)$/i, Severity.INFO],
  [/^(debug|verbose)$/i, Severity.DEBUG],
  [/^(trace)$/i, Severity.TRACE],
];

function severityOfWord(word: string): number | undefined {
  return WORDS.find(([re]) => re.test(word))?.[1];
}

/**
 * The severity of a line of a log file: the "level" (or "severity") field of a JSON line, like the
 * agents' own logs, else the first level word among the first few tokens; INFO when none is found.
 */
export function severityOfLine(line: string): number {
  const trimmed = line.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as Record<string, unknown>;
      const level = parsed.level ?? parsed.severity;
      if (typeof level === 'string') return severityOfWord(level) ?? Severity.INFO;
      if (typeof level === 'number') return severityOfPriority(level);
    } catch {
      // Not JSON after all: read it as text.
    }
  }
  for (const token of trimmed
    .slice(0, 120)
    .split(/[\s[\]():,|<>=]+/)
    .slice(0, 8)) {
    const severity = severityOfWord(token);
    if (severity !== undefined) return severity;
  }
  return Severity.INFO;
}
