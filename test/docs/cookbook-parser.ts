/**
 * Reads the shell samples of a Markdown document the way a POSIX shell would, for the subset the
 * cookbook may use: words with '…' and "…" quoting, $VAR / ${VAR} / $(…) expansion (not inside
 * '…'), backslash-newline continuation, `|` pipes, `# comments` and `NAME=value` assignments.
 * Anything else a shell would do (`;`, `&&`, redirections, back-ticks, globs with meaning) is
 * refused with the line, so a sample can never say something the test does not execute.
 */

export interface FencedBlock {
  /** The info string's first word (`sh`, `text`, `json`, ...). */
  lang: string;
  /** The rest of the info string. */
  info: string;
  body: string;
  /** 1-based line of the first body line in the document. */
  line: number;
  /** Offsets of the body in the document (for rewriting it). */
  start: number;
  end: number;
}

/** Every fenced code block of a Markdown text (``` fences only, as the docs use). */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  const fence = /^```([^\n`]*)\n/gm;
  let m: RegExpExecArray | null;
  while ((m = fence.exec(markdown))) {
    const start = m.index + m[0].length;
    const close = markdown.indexOf('\n```', start - 1);
    if (close < 0) throw new Error(`unclosed code fence at line ${lineAt(markdown, m.index)}`);
    const end = close + 1;
    const [lang = '', ...rest] = m[1].trim().split(/\s+/);
    blocks.push({
      lang,
      info: rest.join(' '),
      body: markdown.slice(start, end),
      line: lineAt(markdown, start),
      start,
      end,
    });
    fence.lastIndex = markdown.indexOf('\n', end) + 1 || markdown.length;
  }
  return blocks;
}

function lineAt(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

export type Part =
  { t: 'lit'; v: string } | { t: 'var'; name: string } | { t: 'sub'; script: string; line: number };
export type Word = Part[];

export interface Pipeline {
  /** Each command of the pipe, as its unexpanded words. */
  commands: Word[][];
  /** The trailing `# comment` of the pipeline's last line, without the `#`. */
  comment: string;
  /** 1-based line in the document. */
  line: number;
}

export class ShellSyntaxError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Splits a shell script into pipelines. `firstLine` is the document line of its first line. */
export function parseShell(script: string, firstLine = 1): Pipeline[] {
  const pipelines: Pipeline[] = [];
  let line = firstLine;
  let commands: Word[][] = [];
  let words: Word[] = [];
  let word: Word | undefined;
  let pipelineLine = line;
  let comment = '';

  const lit = (v: string) => {
    word ??= [];
    const last = word[word.length - 1];
    if (last?.t === 'lit') last.v += v;
    else word.push({ t: 'lit', v });
  };
  const endWord = () => {
    if (word) words.push(word);
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (words.length === 0 && commands.length > 0)
      throw new ShellSyntaxError(line, 'empty command in a pipe');
    if (words.length > 0) commands.push(words);
    words = [];
  };
  const endPipeline = () => {
    endCommand();
    if (commands.length > 0) pipelines.push({ commands, comment: comment.trim(), line: pipelineLine });
    commands = [];
    comment = '';
  };
  /** Reads $NAME, ${NAME} or $(…) at script[i] === '$'; returns the index after it. */
  const dollar = (i: number): number => {
    const next = script[i + 1];
    if (next === '(') {
      let depth = 1;
      let j = i + 2;
      let quote = '';
      for (; j < script.length && depth > 0; j++) {
        const c = script[j];
        if (quote) {
          if (c === quote) quote = '';
          else if (c === '\\' && quote === '"') j++;
        } else if (c === "'" || c === '"') quote = c;
        else if (c === '(') depth++;
        else if (c === ')') depth--;
      }
      if (depth > 0) throw new ShellSyntaxError(line, 'unclosed $(');
      word ??= [];
      word.push({ t: 'sub', script: script.slice(i + 2, j - 1), line });
      return j;
    }
    if (next === '{') {
      const close = script.indexOf('}', i);
      const name = script.slice(i + 2, close);
      if (close < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
        throw new ShellSyntaxError(line, `unsupported expansion ${script.slice(i, i + 12)}`);
      word ??= [];
      word.push({ t: 'var', name });
      return close + 1;
    }
    NAME.lastIndex = i + 1;
    const m = NAME.exec(script);
    if (!m) throw new ShellSyntaxError(line, `unsupported use of $ (${script.slice(i, i + 8)})`);
    word ??= [];
    word.push({ t: 'var', name: m[0] });
    return i + 1 + m[0].length;
  };

  let i = 0;
  while (i < script.length) {
    const c = script[i];
    if (commands.length === 0 && words.length === 0 && !word) pipelineLine = line;
    if (c === '\n') {
      line++;
      endPipeline();
      i++;
    } else if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (c === '\\') {
      if (script[i + 1] === '\n') {
        endWord();
        line++;
      } else lit(script[i + 1] ?? '');
      i += 2;
    } else if (c === '#' && !word) {
      const eol = script.indexOf('\n', i);
      comment = script.slice(i + 1, eol < 0 ? undefined : eol);
      i = eol < 0 ? script.length : eol;
    } else if (c === '|') {
      if (script[i + 1] === '|') throw new ShellSyntaxError(line, '`||` is not supported');
      endCommand();
      if (commands.length === 0) throw new ShellSyntaxError(line, 'a pipe needs a command before it');
      i++;
    } else if (c === "'") {
      const close = script.indexOf("'", i + 1);
      if (close < 0) throw new ShellSyntaxError(line, 'unclosed single quote');
      const text = script.slice(i + 1, close);
      lit(text);
      line += text.split('\n').length - 1;
      i = close + 1;
    } else if (c === '"') {
      word ??= [];
      i++;
      for (;;) {
        if (i >= script.length) throw new ShellSyntaxError(line, 'unclosed double quote');
        const d = script[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && '"\\$`\n'.includes(script[i + 1] ?? '')) {
          if (script[i + 1] === '\n') line++;
          else lit(script[i + 1]);
          i += 2;
        } else if (d === '$') i = dollar(i);
        else if (d === '`') throw new ShellSyntaxError(line, 'back-ticks are not supported: use $(…)');
        else {
          if (d === '\n') line++;
          lit(d);
          i++;
        }
      }
    } else if (c === '$') {
      i = dollar(i);
    } else if (';&<>`(){}*?[~'.includes(c)) {
      throw new ShellSyntaxError(line, `"${c}" is not supported in a cookbook sample (quote it)`);
    } else {
      lit(c);
      i++;
    }
  }
  endPipeline();
  return pipelines;
}

/** A word without expansions, or undefined if it has any. */
export function literal(word: Word): string | undefined {
  return word.every((p) => p.t === 'lit') ? word.map((p) => p.v).join('') : undefined;
}

/** `NAME=` at the start of a word: the assignment's name and value word, or undefined. */
export function assignment(word: Word): { name: string; value: Word } | undefined {
  const first = word[0];
  if (first?.t !== 'lit') return undefined;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.v);
  if (!m) return undefined;
  const rest = first.v.slice(m[0].length);
  return { name: m[1], value: [...(rest ? [{ t: 'lit' as const, v: rest }] : []), ...word.slice(1)] };
}

/** A `nats` CLI invocation the cookbook test knows how to execute. */
export type NatsCommand =
  | { kind: 'req'; subject: string; body: string }
  | { kind: 'pub'; subject: string; body: string }
  | { kind: 'sub'; subject: string; count?: number }
  | { kind: 'kv get'; bucket: string; key: string; raw: boolean }
  | { kind: 'kv put'; bucket: string; key: string; value: string }
  | { kind: 'kv watch'; bucket: string; key?: string }
  | { kind: 'kv ls'; bucket: string }
  | { kind: 'micro ls' }
  | { kind: 'micro ping'; service?: string }
  | { kind: 'micro info'; service: string; json: boolean }
  | { kind: 'micro stats'; service: string; json: boolean }
  | { kind: 'stream view'; stream: string; subject?: string };

/** Connection flags any invocation may carry; the test connects to its own server instead. */
const GLOBAL_FLAGS = new Set(['--server', '-s', '--nkey', '--creds', '--context']);

/**
 * Parses the words after `nats`. Strict: an unknown sub-command, flag or extra argument throws, so
 * the cookbook cannot hold a sample that the test does not run.
 */
export function parseNats(argv: readonly string[]): NatsCommand {
  const args: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) {
      args.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (GLOBAL_FLAGS.has(name)) {
      if (eq < 0) i++;
      if (eq < 0 && argv[i] === undefined) throw new Error(`${name} needs a value`);
      continue;
    }
    if (name === '--count') {
      flags.set(name, eq > 0 ? a.slice(eq + 1) : (argv[++i] ?? ''));
      continue;
    }
    if (name === '--subject') {
      flags.set(name, eq > 0 ? a.slice(eq + 1) : (argv[++i] ?? ''));
      continue;
    }
    flags.set(name, true);
  }
  const allow = (...names: string[]) => {
    for (const f of flags.keys())
      if (!names.includes(f))
        throw new Error(`flag ${f} is not supported with "nats ${args.slice(0, 2).join(' ')}"`);
  };
  const arity = (min: number, max = min) => {
    if (args.length < min || args.length > max)
      throw new Error(`"nats ${args.join(' ')}": expected ${min === max ? min : `${min}-${max}`} words`);
  };
  const [cmd, sub] = args;
  switch (cmd) {
    case 'req':
      allow();
      arity(3);
      return { kind: 'req', subject: args[1], body: args[2] };
    case 'pub':
      allow();
      arity(3);
      return { kind: 'pub', subject: args[1], body: args[2] };
    case 'sub': {
      allow('--count');
      arity(2);
      const count = flags.get('--count');
      if (count !== undefined && !/^[1-9]\d*$/.test(String(count)))
        throw new Error(`--count ${String(count)}`);
      return { kind: 'sub', subject: args[1], ...(count ? { count: Number(count) } : {}) };
    }
    case 'kv':
      switch (sub) {
        case 'get':
          allow('--raw');
          arity(4);
          return { kind: 'kv get', bucket: args[2], key: args[3], raw: flags.has('--raw') };
        case 'put':
          allow();
          arity(5);
          return { kind: 'kv put', bucket: args[2], key: args[3], value: args[4] };
        case 'watch':
          allow();
          arity(3, 4);
          return { kind: 'kv watch', bucket: args[2], ...(args[3] ? { key: args[3] } : {}) };
        case 'ls':
          allow();
          arity(3);
          return { kind: 'kv ls', bucket: args[2] };
      }
      break;
    case 'micro':
      switch (sub) {
        case 'ls':
          allow();
          arity(2);
          return { kind: 'micro ls' };
        case 'ping':
          allow();
          arity(2, 3);
          return { kind: 'micro ping', ...(args[2] ? { service: args[2] } : {}) };
        case 'info':
        case 'stats':
          allow('--json');
          arity(3);
          return { kind: `micro ${sub}`, service: args[2], json: flags.has('--json') };
      }
      break;
    case 'stream':
      if (sub === 'view') {
        allow('--subject');
        arity(3);
        const subject = flags.get('--subject');
        return { kind: 'stream view', stream: args[2], ...(subject ? { subject: String(subject) } : {}) };
      }
      break;
  }
  throw new Error(`"nats ${args.slice(0, 2).join(' ')}" is not a sub-command the cookbook test can execute`);
}
