import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commonSettings } from './common.settings.js';
import { loadConfig, readConfigFile } from './load.js';
import { ConfigError, envNameOf, loadSettings, type SettingsSpec } from './settings.js';

const spec = {
  heartbeatIntervalMs: {
    kind: 'int',
    default: 1_000,
    min: 100,
    max: 60_000,
    unit: 'ms',
    description: 'how often the node says it is alive',
  },
  retries: { kind: 'int', default: 3, min: -2, max: 5, description: 'how many times to retry' },
  verbose: { kind: 'bool', default: false, description: 'log more' },
  mode: { kind: 'enum', default: 'auto', values: ['auto', 'manual', 'off'], description: 'how updates run' },
  topics: {
    kind: 'list',
    default: ['alpha'],
    allowed: ['alpha', 'beta', 'gamma'],
    description: 'subscribed topics',
  },
  tags: { kind: 'list', default: [], description: 'free-form labels' },
  name: { kind: 'string', default: 'node-1', pattern: /^[a-z0-9-]+$/, description: 'display name' },
  endpoint: { kind: 'string', default: 'local', env: 'CUSTOM_ENDPOINT', description: 'where to send' },
} as const satisfies SettingsSpec;

const DEFAULTS = {
  heartbeatIntervalMs: 1_000,
  retries: 3,
  verbose: false,
  mode: 'auto',
  topics: ['alpha'],
  tags: [],
  name: 'node-1',
  endpoint: 'local',
};

const PREFIX = 'OUTPOST_NODE';
const FILE = '/etc/outpost/node.json';

/** Loads `spec` from an in-memory file and environment. */
function load(values: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv = {}) {
  return loadSettings(spec, { file: values && { path: FILE, values }, env, envPrefix: PREFIX });
}

/** The ConfigError that `fn` throws (fails the test if it throws nothing or something else). */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

describe('envNameOf', () => {
  it.each([
    ['OUTPOST_NODE', 'heartbeatIntervalMs', 'OUTPOST_NODE_HEARTBEAT_INTERVAL_MS'],
    ['OUTPOST_NODE', 'verbose', 'OUTPOST_NODE_VERBOSE'],
    ['OUTPOST_EDGE_AGENT', 'natsUrl', 'OUTPOST_EDGE_AGENT_NATS_URL'],
    ['OUTPOST_X', 'ipv4Address', 'OUTPOST_X_IPV4_ADDRESS'],
  ])('%s + %s -> %s', (prefix, key, want) => {
    expect(envNameOf(prefix, key)).toBe(want);
  });
});

describe('loadSettings sources', () => {
  it('returns every default when there is no file and no environment', () => {
    expect(load(undefined)).toEqual(DEFAULTS);
  });

  it('returns the defaults for an empty file', () => {
    expect(load({})).toEqual(DEFAULTS);
  });

  it('lets the file override a default and keeps the other defaults', () => {
    const got = load({ heartbeatIntervalMs: 2_500, mode: 'manual', tags: ['x'] });
    expect(got).toEqual({ ...DEFAULTS, heartbeatIntervalMs: 2_500, mode: 'manual', tags: ['x'] });
  });

  it('lets the environment override the file', () => {
    const got = load(
      { heartbeatIntervalMs: 2_500, verbose: false, name: 'from-file' },
      {
        OUTPOST_NODE_HEARTBEAT_INTERVAL_MS: '7000',
        OUTPOST_NODE_VERBOSE: 'yes',
        OUTPOST_NODE_NAME: 'from-env',
      },
    );
    expect(got).toEqual({ ...DEFAULTS, heartbeatIntervalMs: 7_000, verbose: true, name: 'from-env' });
  });

  it('ignores an empty environment variable and falls back to the file', () => {
    const got = load({ heartbeatIntervalMs: 2_500 }, { OUTPOST_NODE_HEARTBEAT_INTERVAL_MS: '' });
    expect(got.heartbeatIntervalMs).toBe(2_500);
  });

  it('reads derived names only under the given prefix', () => {
    const got = load(undefined, {
      OUTPOST_OTHER_HEARTBEAT_INTERVAL_MS: '7000',
      HEARTBEAT_INTERVAL_MS: '8000',
    });
    expect(got.heartbeatIntervalMs).toBe(1_000);
  });

  it('uses an explicit env name instead of the derived one', () => {
    expect(load(undefined, { CUSTOM_ENDPOINT: 'remote' }).endpoint).toBe('remote');
    expect(load(undefined, { OUTPOST_NODE_ENDPOINT: 'remote' }).endpoint).toBe('local');
  });

  it('returns frozen lists that do not alias the input', () => {
    const tags = ['a', 'b'];
    const got = load({ tags });
    tags.push('c');
    expect(got.tags).toEqual(['a', 'b']);
    expect(Object.isFrozen(got.tags)).toBe(true);
  });

  it('rejects an unknown key in the file, naming the key and the file', () => {
    const err = configErrorOf(() => load({ heartbeatIntervalMs: 2_000, hearbeatIntervalMs: 2_000 }));
    expect(err.message).toContain(FILE);
    expect(err.message).toContain('unknown key "hearbeatIntervalMs"');
    expect(err.message).toContain('heartbeatIntervalMs');
  });

  it('says so when a spec has no keys at all', () => {
    const err = configErrorOf(() =>
      loadSettings({}, { file: { path: FILE, values: { x: 1 } }, env: {}, envPrefix: PREFIX }),
    );
    expect(err.message).toContain('unknown key "x" (known: none)');
  });
});

describe('int fields', () => {
  // heartbeatIntervalMs is in [100, 60000]; retries is in [-2, 5].
  it.each([
    ['min', 'heartbeatIntervalMs', 100],
    ['max', 'heartbeatIntervalMs', 60_000],
    ['negative min', 'retries', -2],
    ['zero inside a negative range', 'retries', 0],
  ] as const)('accepts the %s from the file and the environment (%s = %p)', (_what, key, value) => {
    expect(load({ [key]: value })[key]).toBe(value);
    expect(load(undefined, { [envNameOf(PREFIX, key)]: String(value) })[key]).toBe(value);
  });

  it('accepts surrounding whitespace in the environment', () => {
    expect(load(undefined, { OUTPOST_NODE_HEARTBEAT_INTERVAL_MS: ' 250 ' }).heartbeatIntervalMs).toBe(250);
  });

  it.each([
    ['min-1', 99],
    ['max+1', 60_001],
    ['a fraction', 150.5],
    ['a numeric string', '500'],
    ['a boolean', true],
    ['null', null],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('rejects %s in the file (%p), naming source, key, value and range', (_what, value) => {
    const err = configErrorOf(() => load({ heartbeatIntervalMs: value }));
    expect(err.message).toContain(`${FILE}:`);
    expect(err.message).toContain('"heartbeatIntervalMs"');
    expect(err.message).toContain(`= ${JSON.stringify(value)} is not valid`);
    expect(err.message).toContain('an integer in [100, 60000] ms');
    expect(err.message).toContain('how often the node says it is alive');
  });

  it.each([
    ['99', '99'],
    ['60001', '60001'],
    ['-100', '-100'],
    ['12abc', '"12abc"'],
    ['abc', '"abc"'],
    ['1.5', '"1.5"'],
    ['1e3', '"1e3"'],
    ['0x10', '"0x10"'],
    ['--5', '"--5"'],
    ['5-', '"5-"'],
  ])('rejects %p from the environment, naming the variable, key, value (%s) and range', (text, shown) => {
    const err = configErrorOf(() => load(undefined, { OUTPOST_NODE_HEARTBEAT_INTERVAL_MS: text }));
    expect(err.message).toContain('environment OUTPOST_NODE_HEARTBEAT_INTERVAL_MS:');
    expect(err.message).toContain(`"heartbeatIntervalMs" = ${shown} is not valid`);
    expect(err.message).toContain('[100, 60000] ms');
  });

  it('reports the value as a number when the environment holds an out-of-range integer', () => {
    const err = configErrorOf(() => load(undefined, { OUTPOST_NODE_RETRIES: '6' }));
    expect(err.message).toBe(
      'environment OUTPOST_NODE_RETRIES: "retries" = 6 is not valid: must be an integer in [-2, 5] (how many times to retry)',
    );
  });

  it('reports the raw text when the environment holds no integer', () => {
    const err = configErrorOf(() => load(undefined, { OUTPOST_NODE_RETRIES: '12abc' }));
    expect(err.message).toBe(
      'environment OUTPOST_NODE_RETRIES: "retries" = "12abc" is not valid: must be an integer in [-2, 5] (how many times to retry)',
    );
  });
});

describe('bool fields', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['Yes', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['no', false],
    ['NO', false],
  ])('reads %p from the environment as %p', (text, want) => {
    // The file says the opposite, so the result shows that the environment won.
    expect(load({ verbose: !want }, { OUTPOST_NODE_VERBOSE: text }).verbose).toBe(want);
  });

  it.each(['maybe', 'on', 'off', 'y', '2', 'truefalse', ' yes'])(
    'rejects %p from the environment',
    (text) => {
      const err = configErrorOf(() => load(undefined, { OUTPOST_NODE_VERBOSE: text }));
      expect(err.message).toContain('environment OUTPOST_NODE_VERBOSE:');
      expect(err.message).toContain(`"verbose" = ${JSON.stringify(text)}`);
      expect(err.message).toContain('must be true or false');
    },
  );

  it.each([true, false])('accepts the JSON boolean %p from the file', (value) => {
    expect(load({ verbose: value }).verbose).toBe(value);
  });

  it.each(['true', 1, 0, null])('rejects the non-boolean %p in the file', (value) => {
    const err = configErrorOf(() => load({ verbose: value }));
    expect(err.message).toContain(`${FILE}: "verbose" = ${JSON.stringify(value)}`);
    expect(err.message).toContain('true or false');
  });
});

describe('enum fields', () => {
  it.each(['auto', 'manual', 'off'])('accepts %p from the file and the environment', (value) => {
    expect(load({ mode: value }).mode).toBe(value);
    expect(load(undefined, { OUTPOST_NODE_MODE: value }).mode).toBe(value);
  });

  it.each([
    ['a value not listed', 'sometimes'],
    ['another case', 'AUTO'],
    ['a number', 1],
    ['a list', ['auto']],
  ])('rejects %s in the file (%p), listing the allowed values', (_what, value) => {
    const err = configErrorOf(() => load({ mode: value }));
    expect(err.message).toContain(`${FILE}: "mode" = ${JSON.stringify(value)}`);
    expect(err.message).toContain('must be one of auto, manual, off');
  });

  it('rejects an unlisted value from the environment', () => {
    const err = configErrorOf(() => load(undefined, { OUTPOST_NODE_MODE: 'Manual' }));
    expect(err.message).toContain('environment OUTPOST_NODE_MODE: "mode" = "Manual"');
    expect(err.message).toContain('one of auto, manual, off');
  });
});

describe('list fields', () => {
  it.each([
    ['beta', ['beta']],
    ['alpha,gamma', ['alpha', 'gamma']],
    [' alpha , beta ,gamma ', ['alpha', 'beta', 'gamma']],
    ['alpha,,beta,', ['alpha', 'beta']],
    [',', []],
  ])('reads comma-separated %p from the environment as %p', (text, want) => {
    expect(load({ topics: ['gamma'] }, { OUTPOST_NODE_TOPICS: text }).topics).toEqual(want);
  });

  it('accepts any strings when a list has no allowed values', () => {
    expect(load(undefined, { OUTPOST_NODE_TAGS: 'rack-7, eu-west ,x' }).tags).toEqual([
      'rack-7',
      'eu-west',
      'x',
    ]);
    expect(load({ tags: ['anything', ''] }).tags).toEqual(['anything', '']);
  });

  it('rejects an item outside the allowed values from the environment, naming the allowed ones', () => {
    const err = configErrorOf(() => load(undefined, { OUTPOST_NODE_TOPICS: 'alpha,delta' }));
    expect(err.message).toContain('environment OUTPOST_NODE_TOPICS: "topics" = ["alpha","delta"]');
    expect(err.message).toContain('must be a list of alpha, beta, gamma');
  });

  it.each([
    ['an item not allowed', ['alpha', 'omega']],
    ['a non-string item', ['alpha', 3]],
    ['a comma-separated string', 'alpha,beta'],
    ['an object', { alpha: true }],
  ])('rejects %s in the file (%p)', (_what, value) => {
    const err = configErrorOf(() => load({ topics: value }));
    expect(err.message).toContain(`${FILE}: "topics" = ${JSON.stringify(value)}`);
    expect(err.message).toContain('a list of alpha, beta, gamma');
  });

  it('names "a list of strings" for a list without allowed values', () => {
    const err = configErrorOf(() => load({ tags: [1] }));
    expect(err.message).toContain('must be a list of strings (free-form labels)');
  });
});

describe('string fields', () => {
  it.each(['edge-7', 'a', '0123'])('accepts %p matching the pattern', (value) => {
    expect(load({ name: value }).name).toBe(value);
    expect(load(undefined, { OUTPOST_NODE_NAME: value }).name).toBe(value);
  });

  it.each(['Edge-7', 'edge_7', 'edge 7', ''])('rejects %p not matching the pattern, naming it', (value) => {
    const err = configErrorOf(() => load({ name: value }));
    expect(err.message).toContain(`${FILE}: "name" = ${JSON.stringify(value)}`);
    expect(err.message).toContain('must be a string matching /^[a-z0-9-]+$/');
  });

  it('rejects a pattern mismatch from the environment', () => {
    const err = configErrorOf(() => load(undefined, { OUTPOST_NODE_NAME: 'UPPER' }));
    expect(err.message).toContain('environment OUTPOST_NODE_NAME: "name" = "UPPER"');
  });

  it('rejects a non-string in the file even without a pattern', () => {
    const err = configErrorOf(() => load({ endpoint: 42 }));
    expect(err.message).toContain(`${FILE}: "endpoint" = 42 is not valid: must be a string (where to send)`);
  });
});

describe('loadConfig and readConfigFile', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the defaults when <configDir>/<name>.json does not exist', () => {
    expect(readConfigFile(join(dir, 'node.json'))).toBeUndefined();
    expect(loadConfig(spec, dir, 'node', {})).toEqual(DEFAULTS);
  });

  it('reads <configDir>/<name>.json and then OUTPOST_<NAME>_* variables', async () => {
    await writeFile(join(dir, 'node.json'), JSON.stringify({ heartbeatIntervalMs: 2_500, mode: 'off' }));
    expect(loadConfig(spec, dir, 'node', {})).toEqual({
      ...DEFAULTS,
      heartbeatIntervalMs: 2_500,
      mode: 'off',
    });
    expect(loadConfig(spec, dir, 'node', { OUTPOST_NODE_HEARTBEAT_INTERVAL_MS: '300' })).toEqual({
      ...DEFAULTS,
      heartbeatIntervalMs: 300,
      mode: 'off',
    });
  });

  it('derives the prefix from a dashed agent name', async () => {
    await writeFile(join(dir, 'edge-agent.json'), JSON.stringify({ retries: 1 }));
    const got = loadConfig(spec, dir, 'edge-agent', { OUTPOST_EDGE_AGENT_HEARTBEAT_INTERVAL_MS: '400' });
    expect(got).toMatchObject({ retries: 1, heartbeatIntervalMs: 400 });
  });

  it('names the file path of an out-of-range value', async () => {
    const path = join(dir, 'node.json');
    await writeFile(path, JSON.stringify({ heartbeatIntervalMs: 60_001 }));
    const err = configErrorOf(() => loadConfig(spec, dir, 'node', {}));
    expect(err.message).toBe(
      `${path}: "heartbeatIntervalMs" = 60001 is not valid: must be an integer in [100, 60000] ms (how often the node says it is alive)`,
    );
  });

  it('rejects an unknown key in the file, naming the key and the path', async () => {
    const path = join(dir, 'node.json');
    await writeFile(path, JSON.stringify({ mode: 'auto', colour: 'blue' }));
    const err = configErrorOf(() => loadConfig(spec, dir, 'node', {}));
    expect(err.message).toContain(`${path}: unknown key "colour"`);
  });

  it.each([
    ['not JSON', '{ heartbeatIntervalMs: 1 }', 'is not JSON'],
    ['truncated JSON', '{"mode": "au', 'is not JSON'],
    ['empty', '', 'is not JSON'],
    ['a JSON array', '[{"mode":"auto"}]', 'must hold a JSON object'],
    ['JSON null', 'null', 'must hold a JSON object'],
    ['a JSON string', '"mode=auto"', 'must hold a JSON object'],
    ['a JSON number', '42', 'must hold a JSON object'],
  ])('throws a ConfigError naming the path when the file is %s', async (_what, text, why) => {
    const path = join(dir, 'node.json');
    await writeFile(path, text);
    const err = configErrorOf(() => loadConfig(spec, dir, 'node', {}));
    expect(err.message.startsWith(`${path}: ${why}`)).toBe(true);
  });

  it('throws a ConfigError naming the path when the file cannot be read', async () => {
    const path = join(dir, 'node.json');
    await mkdir(path);
    const err = configErrorOf(() => loadConfig(spec, dir, 'node', {}));
    expect(err.message).toContain(`${path}: cannot be read`);
    expect(err.message).toContain('EISDIR');
  });
});

describe('commonSettings', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-common-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has defaults that pass its own validation', async () => {
    const defaults = Object.fromEntries(Object.entries(commonSettings).map(([k, f]) => [k, f.default]));
    await writeFile(join(dir, 'outpost.json'), JSON.stringify(defaults));
    expect(loadConfig(commonSettings, dir, 'outpost', {})).toEqual(defaults);
  });

  it('reads its explicit variable names, not derived ones', () => {
    const got = loadConfig(commonSettings, dir, 'outpost', {
      NATS_URL: 'tls://bus.example:4222',
      OUTPOST_NODE_ID: 'edge-7',
      OUTPOST_LOG_LEVEL: 'debug',
      OUTPOST_STATUS_INTERVAL_MS: '200',
      OUTPOST_OUTPOST_SHUTDOWN_TIMEOUT_MS: '100',
    });
    expect(got).toMatchObject({
      natsUrl: 'tls://bus.example:4222',
      nodeId: 'edge-7',
      logLevel: 'debug',
      statusIntervalMs: 200,
      shutdownTimeoutMs: 15_000,
    });
  });

  it.each([
    ['NATS_URL', 'http://bus:4222', 'natsUrl'],
    ['OUTPOST_NODE_ID', 'has space', 'nodeId'],
    ['OUTPOST_NODE_ID', 'x'.repeat(65), 'nodeId'],
    ['OUTPOST_LOG_LEVEL', 'trace', 'logLevel'],
    ['OUTPOST_DEVICE', 'vm', 'device'],
    ['OUTPOST_STATUS_INTERVAL_MS', '199', 'statusIntervalMs'],
    ['OUTPOST_REQUEST_TIMEOUT_MS', '600001', 'requestTimeoutMs'],
  ])('rejects %s=%p, naming the variable and the key', (name, value, key) => {
    const err = configErrorOf(() => loadConfig(commonSettings, dir, 'outpost', { [name]: value }));
    expect(err.message).toContain(`environment ${name}: "${key}"`);
  });
});
