/** Profile validation (every refusal names its field) and the fleet/node merge, table-driven. */
import { describe, expect, it } from '@jest/globals';
import {
  decodeJsonText,
  TelemetryLevel,
  TelemetryProfileSchema,
  type TelemetryProfile,
} from '@outpost/contracts';
import { mergeProfiles, validateProfile } from './profile.js';

const limits = { minIntervalSeconds: 1, maxIntervalSeconds: 3600 };
const entry = (input: string, over: Record<string, unknown> = {}) => ({
  input,
  type:
    input === 'journal' || input.startsWith('file:') ? 'TELEMETRY_SIGNAL_LOGS' : 'TELEMETRY_SIGNAL_METRICS',
  kind: 'TELEMETRY_KIND_HOST',
  level: 'TELEMETRY_LEVEL_INFO',
  intervalSeconds: 10,
  ...over,
});
const profile = (json: Record<string, unknown>): TelemetryProfile =>
  decodeJsonText(TelemetryProfileSchema, JSON.stringify(json));

describe('validateProfile', () => {
  it('accepts every catalog input, a file input and all exporters', () => {
    const p = profile({
      entries: [
        'cpu',
        'memory',
        'disk',
        'diskio',
        'net',
        'load',
        'temperature',
        'agents',
        'journal',
        'file:/var/log/app.log',
      ].map((i) => entry(i)),
      exporters: {
        otlpHttp: { endpoint: 'https://collector.example:4318' },
        prometheus: { port: 9464 },
        fluentForward: { host: 'logs.example', port: 24224 },
      },
    });
    expect(validateProfile(p, limits)).toEqual({ ok: true });
  });

  it.each([
    ['an unknown input', { entries: [entry('gpu')] }, /entries\[0\]\.input "gpu" is not in the catalog/],
    ['a relative file', { entries: [entry('file:var/log/x')] }, /entries\[0\]\.input "file:var\/log\/x"/],
    ['a file path with ..', { entries: [entry('file:/var/../etc/shadow')] }, /is not in the catalog/],
    ['a missing type', { entries: [entry('cpu', { type: undefined })] }, /entries\[0\]\.type is missing/],
    [
      'LOGS for a metrics input',
      { entries: [entry('cpu', { type: 'TELEMETRY_SIGNAL_LOGS' })] },
      /type LOGS does not fit input "cpu"/,
    ],
    ['a missing kind', { entries: [entry('cpu', { kind: undefined })] }, /entries\[0\]\.kind is missing/],
    ['a missing level', { entries: [entry('net', { level: undefined })] }, /entries\[0\]\.level is missing/],
    [
      'interval 0',
      { entries: [entry('cpu', { intervalSeconds: 0 })] },
      /entries\[0\]\.intervalSeconds 0 is outside 1\.\.3600/,
    ],
    [
      'interval 3601',
      { entries: [entry('load'), entry('cpu', { intervalSeconds: 3601 })] },
      /entries\[1\]\.intervalSeconds 3601/,
    ],
    [
      'an ftp OTLP endpoint',
      { exporters: { otlpHttp: { endpoint: 'ftp://x' } } },
      /exporters\.otlpHttp\.endpoint "ftp:\/\/x"/,
    ],
    [
      'a non-URL OTLP endpoint',
      { exporters: { otlpHttp: { endpoint: 'collector' } } },
      /is not an http\(s\) URL/,
    ],
    ['prometheus port 0', { exporters: { prometheus: { port: 0 } } }, /exporters\.prometheus\.port 0/],
    [
      'fluent port 70000',
      { exporters: { fluentForward: { host: 'h', port: 70000 } } },
      /exporters\.fluentForward\.port 70000/,
    ],
    [
      'a fluent host with a space',
      { exporters: { fluentForward: { host: 'a b', port: 1 } } },
      /fluentForward\.host "a b"/,
    ],
  ])('rejects %s', (_name, json, reason) => {
    const result = validateProfile(profile(json), limits);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(reason);
  });

  it('applies the configured interval limits', () => {
    const p = profile({ entries: [entry('cpu', { intervalSeconds: 5 })] });
    expect(validateProfile(p, { minIntervalSeconds: 10, maxIntervalSeconds: 60 })).toEqual({
      ok: false,
      reason: 'entries[0].intervalSeconds 5 is outside 10..60',
    });
  });
});

describe('mergeProfiles', () => {
  const summary = (p: TelemetryProfile) =>
    p.entries.map((e) => `${e.input}:${TelemetryLevel[e.level]}:${e.intervalSeconds}`);

  it.each([
    ['union of inputs', [entry('cpu')], [entry('memory')], ['cpu:INFO:10', 'memory:INFO:10']],
    [
      'lowest interval (node lower)',
      [entry('cpu', { intervalSeconds: 60 })],
      [entry('cpu', { intervalSeconds: 5 })],
      ['cpu:INFO:5'],
    ],
    [
      'lowest interval (fleet lower)',
      [entry('cpu', { intervalSeconds: 5 })],
      [entry('cpu', { intervalSeconds: 60 })],
      ['cpu:INFO:5'],
    ],
    [
      'most verbose level',
      [entry('journal', { level: 'TELEMETRY_LEVEL_DEBUG' })],
      [entry('journal', { level: 'TELEMETRY_LEVEL_WARN' })],
      ['journal:DEBUG:10'],
    ],
    ['fleet only', [entry('load')], [], ['load:INFO:10']],
    ['node only', [], [entry('net')], ['net:INFO:10']],
    [
      'duplicates inside one profile',
      [],
      [
        entry('cpu', { intervalSeconds: 30 }),
        entry('cpu', { intervalSeconds: 20, level: 'TELEMETRY_LEVEL_TRACE' }),
      ],
      ['cpu:TRACE:20'],
    ],
  ])('%s', (_name, fleetEntries, nodeEntries, expected) => {
    const merged = mergeProfiles(profile({ entries: fleetEntries }), profile({ entries: nodeEntries }));
    expect(summary(merged)).toEqual(expected);
  });

  it('keeps HOST and CLUSTER entries of one input apart', () => {
    const merged = mergeProfiles(
      profile({ entries: [entry('cpu', { kind: 'TELEMETRY_KIND_CLUSTER' })] }),
      profile({ entries: [entry('cpu')] }),
    );
    expect(merged.entries).toHaveLength(2);
  });

  it.each([
    [
      'node over fleet',
      { otlpHttp: { endpoint: 'http://fleet' }, prometheus: { port: 1 } },
      { otlpHttp: { endpoint: 'http://node' } },
      { otlp: 'http://node', prom: 1, fluent: undefined },
    ],
    [
      'fleet when the node names none',
      { fluentForward: { host: 'f', port: 2 } },
      {},
      { otlp: undefined, prom: undefined, fluent: 'f' },
    ],
    ['node alone', undefined, { prometheus: { port: 9 } }, { otlp: undefined, prom: 9, fluent: undefined }],
  ])('exporters: %s', (_name, fleetExporters, nodeExporters, expected) => {
    const merged = mergeProfiles(
      profile(fleetExporters ? { exporters: fleetExporters } : {}),
      profile({ exporters: nodeExporters }),
    );
    expect({
      otlp: merged.exporters?.otlpHttp?.endpoint,
      prom: merged.exporters?.prometheus?.port,
      fluent: merged.exporters?.fluentForward?.host,
    }).toEqual(expected);
  });

  it('gives the same result whatever the entry order', () => {
    const a = mergeProfiles(undefined, profile({ entries: [entry('net'), entry('cpu')] }));
    const b = mergeProfiles(profile({ entries: [entry('cpu')] }), profile({ entries: [entry('net')] }));
    expect(summary(a)).toEqual(summary(b));
  });
});
