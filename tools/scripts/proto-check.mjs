// Guards the contracts (part of `npm run lint`):
//   1. buf lint on proto/
//   2. the generated TypeScript in libs/contracts/src/gen is what proto/ generates now
//   3. buf breaking against main (on main itself: against the previous commit, so every change that
//      lands is checked against what was there before it)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const buf = join(root, 'node_modules/.bin/buf');
const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}` };

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, env, encoding: 'utf8', ...opts });
  return { ok: res.status === 0, out: `${res.stdout ?? ''}${res.stderr ?? ''}`.trim() };
}

function fail(message) {
  console.error(`proto-check: ${message}`);
  process.exit(1);
}

function files(dir) {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

const lint = run(buf, ['lint', 'proto']);
if (!lint.ok) fail(`buf lint failed:\n${lint.out}`);

const out = mkdtempSync(join(tmpdir(), 'outpost-gen-'));
try {
  const template = JSON.stringify({
    version: 'v2',
    plugins: [{ local: 'protoc-gen-es', out, opt: ['target=ts', 'import_extension=js'] }],
  });
  const gen = run(buf, ['generate', 'proto', '--template', template]);
  if (!gen.ok) fail(`buf generate failed:\n${gen.out}`);
  const committed = join(root, 'libs/contracts/src/gen');
  const want = files(out);
  const have = files(committed);
  const stale =
    want.join() !== have.join() ||
    want.some((f) => readFileSync(join(out, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'));
  if (stale) fail(`${relative(root, committed)} is stale: run \`npm run proto:gen\` and commit the result`);
} finally {
  rmSync(out, { recursive: true, force: true });
}

const git = (...args) => run('git', args);
if (!git('rev-parse', '--git-dir').ok) {
  console.log('proto-check: not a git checkout, buf breaking skipped');
  process.exit(0);
}
const branch = git('rev-parse', '--abbrev-ref', 'HEAD').out;
let against;
if (process.env.OUTPOST_BUF_AGAINST) against = process.env.OUTPOST_BUF_AGAINST;
else if (branch !== 'main' && git('rev-parse', '--verify', '-q', 'main').ok) against = 'main';
else if (git('cat-file', '-e', 'HEAD~1:proto/buf.yaml').ok) against = 'HEAD~1';
if (!against) {
  console.log('proto-check: no earlier proto/ to compare with, buf breaking skipped');
  process.exit(0);
}
const sha = git('rev-parse', against).out;
const breaking = run(buf, ['breaking', 'proto', '--against', `.git#ref=${sha},subdir=proto`]);
if (!breaking.ok) fail(`buf breaking against ${against} (${sha.slice(0, 12)}) failed:\n${breaking.out}`);
console.log(`proto-check: lint, generated code and breaking (against ${against}) ok`);
