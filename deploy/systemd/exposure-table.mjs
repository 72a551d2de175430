#!/usr/bin/env node
// Prints the exposure level of every service in deploy/systemd (from
// `systemd-analyze security --offline=yes`) and its budget (<unit>.budget) as a Markdown table, for docs:
//
//   node_modules/.bin/node deploy/systemd/exposure-table.mjs [unit-dir]
//
// Node 24 only: it imports the TypeScript helper the tests use (Node strips the types).
// Exits 1 when a service is over budget or has no budget file, 2 when systemd-analyze is missing.
if (Number(process.versions.node.split('.')[0]) < 24) {
  console.error(
    `exposure-table.mjs: this is Node ${process.versions.node}; run it with Node 24 (node_modules/.bin/node).`,
  );
  process.exit(2);
}
const { exposureTable, UNIT_DIR } = await import('../../test/deploy/systemd-analyze.ts');

const dir = process.argv[2] ?? UNIT_DIR;

let rows;
try {
  rows = await exposureTable(dir);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}

const lines = ['| Unit | Exposure | Budget | Status |', '| --- | ---: | ---: | --- |'];
let failed = false;
for (const { unit, exposure, budget } of rows) {
  let status = 'ok';
  if (budget === null) status = 'no budget file';
  else if (exposure > budget) status = 'over budget';
  if (status !== 'ok') failed = true;
  lines.push(
    `| \`${unit}\` | ${exposure.toFixed(1)} | ${budget === null ? '–' : budget.toFixed(1)} | ${status} |`,
  );
}
console.log(lines.join('\n'));
console.log('\nExposure: `systemd-analyze security --offline=yes`, 0.0 (best) to 10.0 (worst).');
if (failed) process.exitCode = 1;
