#!/usr/bin/env node
// Writes the permission table of docs/security.md from AGENT_PERMISSIONS (@outpost/contracts), through
// the built @outpost/nats-config, formatted by prettier: `npm run build && node tools/scripts/security-doc.mjs`.
// With --check it only reports whether the document is current (exit 1 if not).
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as prettier from 'prettier';
import { normalizeMarkdown, withPermissionsTable } from '@outpost/nats-config';

const file = resolve(new URL('../..', import.meta.url).pathname, 'docs', 'security.md');
const current = await readFile(file, 'utf8');
const rendered = withPermissionsTable(current);
if (normalizeMarkdown(rendered) === normalizeMarkdown(current)) {
  process.stdout.write(`${file} is current\n`);
} else if (process.argv.includes('--check')) {
  process.stderr.write(`${file} is out of date: run node tools/scripts/security-doc.mjs\n`);
  process.exitCode = 1;
} else {
  const options = (await prettier.resolveConfig(file)) ?? {};
  await writeFile(file, await prettier.format(rendered, { ...options, filepath: file }));
  process.stdout.write(`updated ${file}\n`);
}
