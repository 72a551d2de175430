/** The cookbook's shell and `nats` parser: shell semantics where the samples need them, strict elsewhere. */
import { describe, expect, it } from '@jest/globals';
import { assignment, fencedBlocks, literal, parseNats, parseShell, type Word } from './cookbook-parser.js';
import { catalogSubjects, kvContract, subjectMatches } from './nats-cli-runner.js';

/** A word as text, expansions shown as the shell source would write them. */
const show = (w: Word) =>
  w.map((p) => (p.t === 'lit' ? p.v : p.t === 'var' ? `\${${p.name}}` : `$(${p.script})`)).join('');
const words = (script: string) => parseShell(script).map((p) => p.commands.map((c) => c.map(show)));

describe('fencedBlocks', () => {
  it('finds each fenced block with its language, line and offsets', () => {
    const md = 'intro\n\n```sh\nnats micro ls\n```\n\n```text\nout\n```\n';
    const blocks = fencedBlocks(md);
    expect(blocks.map((b) => [b.lang, b.body, b.line])).toEqual([
      ['sh', 'nats micro ls\n', 4],
      ['text', 'out\n', 8],
    ]);
    expect(md.slice(blocks[1].start, blocks[1].end)).toBe('out\n');
  });
});

describe('parseShell', () => {
  it.each([
    [`nats req edge.$NODE.node.cmd.health '{}'`, [[['nats', 'req', 'edge.${NODE}.node.cmd.health', '{}']]]],
    [`nats sub "edge.$NODE.>"`, [[['nats', 'sub', 'edge.${NODE}.>']]]],
    [`nats sub 'edge.$NODE.>'`, [[['nats', 'sub', 'edge.$NODE.>']]]], // no expansion inside '…'
    [`nats req x "{\\"generation\\":$GEN}"`, [[['nats', 'req', 'x', '{"generation":${GEN}}']]]],
    [`nats kv put b k '{"m": '"$M"'}'`, [[['nats', 'kv', 'put', 'b', 'k', '{"m": ${M}}']]]],
    [
      `NODE=$(nats micro info outpost-node --json | jq -r .metadata.node_id)`,
      [[['NODE=$(nats micro info outpost-node --json | jq -r .metadata.node_id)']]],
    ],
    [`nats micro ls \\\n  --server x`, [[['nats', 'micro', 'ls', '--server', 'x']]]],
    [
      `nats micro ls   # list them\n\nnats micro ping`,
      [[['nats', 'micro', 'ls']], [['nats', 'micro', 'ping']]],
    ],
    [
      `nats kv get a b --raw | jq .x`,
      [
        [
          ['nats', 'kv', 'get', 'a', 'b', '--raw'],
          ['jq', '.x'],
        ],
      ],
    ],
  ])('%s', (script, expected) => {
    expect(words(script)).toEqual(expected);
  });

  it('keeps the trailing comment and the line of each pipeline', () => {
    const [a, b] = parseShell(`nats micro ls\nnats req s '{\n}'   # fails: 400\n`, 10);
    expect([a.line, a.comment, b.line, b.comment]).toEqual([10, '', 11, 'fails: 400']);
  });

  it.each([
    ['nats micro ls; nats micro ping', '";"'],
    ['nats micro ls && nats micro ping', '"&"'],
    ['nats micro ls > out.txt', '">"'],
    ['nats sub edge.x.*.status', '"*"'],
    ['nats req s `cat x`', '"`"'],
    ["nats req s '{}", 'unclosed single quote'],
    ['nats req s "{}', 'unclosed double quote'],
    ['nats micro ls || true', '`||`'],
  ])('refuses %s', (script, message) => {
    expect(() => parseShell(script)).toThrow(message);
  });

  it('splits an assignment from its value', () => {
    const [p] = parseShell('GEN=$(nats kv get b k --raw | jq -r .generation)');
    const a = assignment(p.commands[0][0]);
    expect(a?.name).toBe('GEN');
    expect(a && show(a.value)).toBe('$(nats kv get b k --raw | jq -r .generation)');
    expect(literal(parseShell('nats')[0].commands[0][0])).toBe('nats');
  });
});

describe('parseNats', () => {
  it.each([
    [['req', 's', '{}'], { kind: 'req', subject: 's', body: '{}' }],
    [['--server', 'nats://127.0.0.1:4222', '--nkey', '/k.nk', 'micro', 'ls'], { kind: 'micro ls' }],
    [
      ['-s', 'u', 'micro', 'info', 'outpost-node', '--json'],
      { kind: 'micro info', service: 'outpost-node', json: true },
    ],
    [['sub', 'edge.x.>', '--count', '2'], { kind: 'sub', subject: 'edge.x.>', count: 2 }],
    [['kv', 'get', 'b', 'k', '--raw'], { kind: 'kv get', bucket: 'b', key: 'k', raw: true }],
    [['kv', 'watch', 'b'], { kind: 'kv watch', bucket: 'b' }],
    [
      ['stream', 'view', 'EDGE_EVENTS', '--subject=edge.x.y.evt.z'],
      { kind: 'stream view', stream: 'EDGE_EVENTS', subject: 'edge.x.y.evt.z' },
    ],
  ])('%j', (argv, expected) => {
    expect(parseNats(argv)).toEqual(expected);
  });

  it.each([
    [['kv', 'del', 'b', 'k'], 'not a sub-command'],
    [['stream', 'purge', 'EDGE_EVENTS'], 'not a sub-command'],
    [['request', 's', '{}'], 'not a sub-command'],
    [['req', 's'], 'expected 3 words'],
    [['req', 's', '{}', '--timeout', '5s'], 'flag --timeout is not supported'],
    [['kv', 'put', 'b', 'k'], 'expected 5 words'], // no value from stdin: every value is in the sample
    [['sub', 's', '--count', '0'], '--count 0'],
    [['--server'], 'needs a value'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseNats(argv)).toThrow(message);
  });
});

describe('catalog lookups', () => {
  it('matches NATS wildcards', () => {
    expect(subjectMatches('edge.n.>', 'edge.n.node.status')).toBe(true);
    expect(subjectMatches('edge.n.*.status', 'edge.n.node.status')).toBe(true);
    expect(subjectMatches('edge.n.*.status', 'edge.n.node.evt.health')).toBe(false);
    expect(subjectMatches('edge.n.>', 'edge.n')).toBe(false);
    expect(subjectMatches('edge.n.node.evt.health', 'edge.n.node.evt.health')).toBe(true);
  });

  it('knows every subject of a node, and the contract of each KV key', () => {
    const subjects = catalogSubjects('n1');
    expect(subjects.has('edge.n1.node.cmd.health')).toBe(true);
    expect(subjects.has('edge.n1.update.evt.progress')).toBe(true);
    expect(subjects.has('edge.n1.cluster.status')).toBe(true);
    expect(subjects.has('edge.n1.node.cmd.reboot')).toBe(false);
    expect(kvContract('edge_status', 'n1.node.health', 'n1')).toBeDefined();
    expect(kvContract('edge_desired', 'n1.update', 'n1')).toBeDefined();
    expect(kvContract('edge_status', 'rollout.g.lease-0', 'n1')).toBe('lease');
    expect(kvContract('edge_desired', 'n1.nonsense', 'n1')).toBeUndefined();
    expect(kvContract('edge_status', 'n2.node.health', 'n1')).toBeUndefined();
  });
});
