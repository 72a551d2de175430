/**
 * Telemetry profiles: validation against the input catalog and the allowed intervals, and the merge
 * of the fleet defaults into a node's profile. Pure: no bus, no files.
 */
import { create } from '@bufbuild/protobuf';
import {
  TelemetryEntrySchema,
  TelemetryExportersSchema,
  TelemetryKind,
  TelemetryLevel,
  TelemetryProfileSchema,
  TelemetrySignal,
  type TelemetryEntry,
  type TelemetryExporters,
  type TelemetryProfile,
} from '@outpost/contracts';

/** The fixed input catalog, with the signal each input produces (file:<abs path> is a LOGS input). */
export const INPUT_CATALOG: Readonly<Record<string, TelemetrySignal>> = {
  cpu: TelemetrySignal.METRICS,
  memory: TelemetrySignal.METRICS,
  disk: TelemetrySignal.METRICS,
  diskio: TelemetrySignal.METRICS,
  net: TelemetrySignal.METRICS,
  load: TelemetrySignal.METRICS,
  temperature: TelemetrySignal.METRICS,
  agents: TelemetrySignal.METRICS,
  journal: TelemetrySignal.LOGS,
};

const FILE_PREFIX = 'file:';
const MAX_ENTRIES = 256;

export interface ProfileLimits {
  minIntervalSeconds: number;
  maxIntervalSeconds: number;
}

export type Validation = { ok: true } | { ok: false; reason: string };

/** The signal an input produces, or undefined if it is not in the catalog. */
export function inputSignal(input: string): TelemetrySignal | undefined {
  if (input.startsWith(FILE_PREFIX)) {
    const path = input.slice(FILE_PREFIX.length);
    // An absolute, normalised path: no relative parts a collector could be tricked into following.
    const normalised = path.startsWith('/') && !path.split('/').some((p) => p === '..' || p === '.');
    return normalised && path.length > 1 && !path.includes('\0') ? TelemetrySignal.LOGS : undefined;
  }
  return Object.hasOwn(INPUT_CATALOG, input) ? INPUT_CATALOG[input] : undefined;
}

function port(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65_535;
}

/** Checks a decoded profile; the reason names the first offending field and value. */
export function validateProfile(profile: TelemetryProfile, limits: ProfileLimits): Validation {
  if (profile.entries.length > MAX_ENTRIES)
    return { ok: false, reason: `entries: ${profile.entries.length} entries, at most ${MAX_ENTRIES}` };
  for (const [i, e] of profile.entries.entries()) {
    const at = `entries[${i}]`;
    const signal = inputSignal(e.input);
    if (signal === undefined)
      return {
        ok: false,
        reason: `${at}.input "${e.input}" is not in the catalog (${Object.keys(INPUT_CATALOG).join(', ')}, file:<absolute path>)`,
      };
    if (e.type === TelemetrySignal.UNSPECIFIED)
      return { ok: false, reason: `${at}.type is missing (METRICS or LOGS)` };
    if (e.type !== signal)
      return {
        ok: false,
        reason: `${at}.type ${TelemetrySignal[e.type]} does not fit input "${e.input}" (${TelemetrySignal[signal]})`,
      };
    if (e.kind === TelemetryKind.UNSPECIFIED)
      return { ok: false, reason: `${at}.kind is missing (HOST or CLUSTER)` };
    if (e.level === TelemetryLevel.UNSPECIFIED)
      return { ok: false, reason: `${at}.level is missing (ERROR, WARN, INFO, DEBUG or TRACE)` };
    if (e.intervalSeconds < limits.minIntervalSeconds || e.intervalSeconds > limits.maxIntervalSeconds)
      return {
        ok: false,
        reason: `${at}.intervalSeconds ${e.intervalSeconds} is outside ${limits.minIntervalSeconds}..${limits.maxIntervalSeconds}`,
      };
  }
  const x = profile.exporters;
  if (x?.otlpHttp) {
    let url: URL | undefined;
    try {
      url = new URL(x.otlpHttp.endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      return {
        ok: false,
        reason: `exporters.otlpHttp.endpoint "${x.otlpHttp.endpoint}" is not an http(s) URL`,
      };
  }
  if (x?.prometheus && !port(x.prometheus.port))
    return { ok: false, reason: `exporters.prometheus.port ${x.prometheus.port} is outside 1..65535` };
  if (x?.fluentForward) {
    if (!/^[A-Za-z0-9.:-]{1,253}$/.test(x.fluentForward.host))
      return {
        ok: false,
        reason: `exporters.fluentForward.host "${x.fluentForward.host}" is not a host name`,
      };
    if (!port(x.fluentForward.port))
      return {
        ok: false,
        reason: `exporters.fluentForward.port ${x.fluentForward.port} is outside 1..65535`,
      };
  }
  return { ok: true };
}

function entryKey(e: TelemetryEntry): string {
  return `${e.input}|${e.type}|${e.kind}`;
}

/**
 * Merges valid profiles (fleet defaults first, then the node's): the union of the inputs (one entry
 * per input, signal and kind), the lowest interval and the most verbose level of each; each exporter
 * from the node if it names one, else from the fleet. The result is sorted, so equal inputs give
 * equal outputs whatever the order of the entries.
 */
export function mergeProfiles(
  fleet: TelemetryProfile | undefined,
  node: TelemetryProfile | undefined,
): TelemetryProfile {
  const merged = new Map<string, TelemetryEntry>();
  for (const e of [...(fleet?.entries ?? []), ...(node?.entries ?? [])]) {
    const seen = merged.get(entryKey(e));
    merged.set(
      entryKey(e),
      create(TelemetryEntrySchema, {
        input: e.input,
        type: e.type,
        kind: e.kind,
        level: seen ? Math.max(seen.level, e.level) : e.level,
        intervalSeconds: seen ? Math.min(seen.intervalSeconds, e.intervalSeconds) : e.intervalSeconds,
      }),
    );
  }
  const entries = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  const f: Partial<TelemetryExporters> = fleet?.exporters ?? {};
  const n: Partial<TelemetryExporters> = node?.exporters ?? {};
  const exporters = create(TelemetryExportersSchema, {
    otlpHttp: n.otlpHttp ?? f.otlpHttp,
    prometheus: n.prometheus ?? f.prometheus,
    fluentForward: n.fluentForward ?? f.fluentForward,
  });
  return create(TelemetryProfileSchema, { entries, exporters });
}
