#!/usr/bin/env node
// Makes a fleet hub's decentralized NATS security once (docs/enrolment.md), and provisions the hub's
// JetStream for its services. Install-time tool: it imports the built @outpost/* packages.
//
//   node tools/scripts/hub-accounts.mjs --out /etc/outpost/hub --resolver-dir /var/lib/nats/hub-jwt
//     writes operator.jwt, resolver.conf (include it in hub-operator.conf), accounts.json, the signing
//     seeds and creds of the enrolment service (0600), admin.creds (0600) and the public enrol.creds.
//     Refuses to overwrite: the accounts of a hub are made once.
//   node tools/scripts/hub-accounts.mjs --provision --out /etc/outpost/hub [--url nats://127.0.0.1:4222] [--replicas 3]
//     as the hub admin, creates the KV buckets hub services report their status in (no event stream).
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const USAGE = `usage: hub-accounts.mjs --out DIR --resolver-dir DIR
       hub-accounts.mjs --provision --out DIR [--url nats://127.0.0.1:4222] [--replicas 3]`;

async function main(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        'resolver-dir': { type: 'string' },
        provision: { type: 'boolean', default: false },
        url: { type: 'string', default: 'nats://127.0.0.1:4222' },
        replicas: { type: 'string', default: '3' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (!values.out) throw new Error('--out is required');
    if (!values.provision && !values['resolver-dir']) throw new Error('--resolver-dir is required');
    if (!/^[1-5]$/.test(values.replicas)) throw new Error('--replicas must be 1 to 5');
  } catch (err) {
    process.stderr.write(`hub-accounts: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  const { createHubAccounts, writeHubAccounts } = await import('@outpost/nats-config');
  if (values.provision) {
    const { connect } = await import('@nats-io/transport-node');
    const { credsAuthenticator } = await import('@nats-io/nats-core');
    const { provisionStores } = await import('@outpost/bus');
    const creds = await readFile(join(values.out, 'admin.creds'));
    const nc = await connect({ servers: values.url, authenticator: credsAuthenticator(creds) });
    try {
      await provisionStores(nc, Number(values.replicas));
    } finally {
      await nc.close();
    }
    process.stdout.write(`provisioned the hub's KV buckets on ${values.url} as admin\n`);
    return 0;
  }
  const files = await writeHubAccounts(values.out, await createHubAccounts(), values['resolver-dir']);
  const ids = JSON.parse(await readFile(files.accountsJson, 'utf8'));
  process.stdout.write(
    `wrote the hub's accounts to ${files.dir}\n  operator JWT ${files.operatorJwt}, resolver ${files.resolverConf}\n` +
      `  FLEET ${ids.fleetAccount} (OUTPOST_ENROLMENT_FLEET_ACCOUNT), SYS ${ids.systemAccount}, ENROL ${ids.enrolAccount}\n` +
      `  move ${files.operatorSeed} off the hub: it is only needed to make a new operator signing key\n`,
  );
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`hub-accounts: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
