import { describe, expect, it } from '@jest/globals';
import { TelemetryLevel } from '@outpost/contracts';
import { passes, Severity, severityOfLine, severityOfPriority } from './levels.js';

describe('log levels', () => {
  it.each([
    ['{"level":"warn","msg":"x"}', Severity.WARN],
    ['{"severity":"ERROR"}', Severity.ERROR],
    ['2026-01-01T00:00:00Z ERROR disk full', Severity.ERROR],
    ['[debug] cache miss', Severity.DEBUG],
    ['<warning> hot', Severity.WARN],
    ['a line without level', Severity.INFO],
    ['{ not json error', Severity.ERROR],
  ])('%j has severity %i', (line, severity) => expect(severityOfLine(line)).toBe(severity));

  it.each([
    [0, Severity.FATAL],
    [3, Severity.ERROR],
    [4, Severity.WARN],
    [5, Severity.INFO],
    [6, Severity.INFO],
    [7, Severity.DEBUG],
  ])('journal PRIORITY %i has severity %i', (priority, severity) =>
    expect(severityOfPriority(priority)).toBe(severity),
  );

  it.each([
    [Severity.ERROR, TelemetryLevel.WARN, true],
    [Severity.WARN, TelemetryLevel.WARN, true],
    [Severity.INFO, TelemetryLevel.WARN, false],
    [Severity.DEBUG, TelemetryLevel.INFO, false],
    [Severity.TRACE, TelemetryLevel.TRACE, true],
    [Severity.FATAL, TelemetryLevel.ERROR, true],
  ])('severity %i passes threshold %i: %s', (severity, level, expected) =>
    expect(passes(severity, level)).toBe(expected),
  );
});
