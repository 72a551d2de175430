#!/usr/bin/env node
// Renders a node's nats-server configuration with least-privilege NATS users, from the permission table
// in @outpost/contracts, and provisions JetStream as the admin user. Install-time tool: it imports the
// built @outpost/* packages, so it runs from the installed bundle as well as from a built checkout.
//
//   node tools/scripts/nats-config.mjs --node-id ID --out DIR [--port 4222] [--host 127.0.0.1]
//        [--store-dir DIR] [--mode split|all-in-one] [--domain D]
//        [--leaf-url URL ... --leaf-ca F --leaf-cert F --leaf-key F] [--provision [--url URL]]
//        [--leaf-url URL ... --leaf-creds F [--leaf-ca F]]   (an operator-mode hub, docs/enrolment.md)
//   node tools/scripts/nats-config.mjs --provision --out DIR [--url nats://127.0.0.1:4222]
//   node tools/scripts/nats-config.mjs --provision --admin-seed FILE --node-id ID [--url nats://127.0.0.1:4222]
//        (outpost-nats-provision.service: the seed comes from systemd's LoadCredential=, the node id from
//        DIR/provision.env through EnvironmentFile=)
//   --provision also takes [--buffer-max-bytes N] [--buffer-max-age SECONDS] (the agents' stream limits)
//
// Writes DIR/nats-server.conf, DIR/provision.env (OUTPOST_NODE_ID) and DIR/creds/<user>.nk (nkey seeds,
// mode 0400; existing seeds are kept, so running it again is safe). --provision creates or updates, as
// the admin user (DIR/creds/admin.nk) on a running server, every JetStream asset of the node with a
// fixed configuration: the event stream, the KV buckets, the agents' streams (the observability offline
// buffers) and the durable consumers of their KV watches. Agents never hold create or update rights.
import { parseArgs } from 'node:util';
import { join } from 'node:path';

const USAGE = `usage: nats-config.mjs --node-id ID --out DIR [--port 4222] [--host 127.0.0.1] [--store-dir DIR]
         [--mode split|all-in-one] [--domain D]
         [--leaf-url URL ... --leaf-ca FILE --leaf-cert FILE --leaf-key FILE] [--provision [--url URL]]
         [--leaf-url URL ... --leaf-creds FILE [--leaf-ca FILE]]
       nats-config.mjs --provision --out DIR [--url nats://127.0.0.1:4222]
       nats-config.mjs --provision --admin-seed FILE --node-id ID [--url nats://127.0.0.1:4222]
       --provision also takes [--buffer-max-bytes N] [--buffer-max-age SECONDS]`;

class UsageError extends Error {}

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'node-id': { type: 'string' },
      out: { type: 'string' },
      port: { type: 'string', default: '4222' },
      host: { type: 'string', default: '127.0.0.1' },
      'store-dir': { type: 'string' },
      mode: { type: 'string', default: 'split' },
      domain: { type: 'string' },
      'leaf-url': { type: 'string', multiple: true },
      'leaf-ca': { type: 'string' },
      'leaf-cert': { type: 'string' },
      'leaf-key': { type: 'string' },
      'leaf-creds': { type: 'string' },
      provision: { type: 'boolean', default: false },
      'admin-seed': { type: 'string' },
      url: { type: 'string' },
      'buffer-max-bytes': { type: 'string' },
      'buffer-max-age': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return { help: true };
  if (values['admin-seed'] && (!values.provision || values.out))
    throw new UsageError('--admin-seed goes with --provision alone');
  if (values['admin-seed'] && !values['node-id'])
    throw new UsageError('--admin-seed needs --node-id (the node whose assets are provisioned)');
  const limits = {};
  for (const [flag, key, scale] of [
    ['buffer-max-bytes', 'bufferMaxBytes', 1],
    ['buffer-max-age', 'bufferMaxAgeMs', 1000],
  ]) {
    if (values[flag] === undefined) continue;
    if (!values.provision) throw new UsageError(`--${flag} goes with --provision`);
    const n = Number(values[flag]);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new UsageError(`--${flag} ${values[flag]} is not a positive integer`);
    limits[key] = n * scale;
  }
  if (!values.out && !values['admin-seed']) throw new UsageError('--out is required');
  if (!values['node-id'] && !values.provision)
    throw new UsageError('--node-id is required (or --provision alone)');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--port ${values.port} is not a port`);
  if (values.mode !== 'split' && values.mode !== 'all-in-one') {
    throw new UsageError(`--mode must be split or all-in-one, not ${values.mode}`);
  }
  const tlsParts = [values['leaf-ca'], values['leaf-cert'], values['leaf-key']];
  const tlsGiven = tlsParts.filter(Boolean).length;
  const creds = values['leaf-creds'];
  // With credentials (an operator-mode hub) the CA alone checks the hub; otherwise all three go together.
  const caOnly = creds && tlsGiven === 1 && values['leaf-ca'];
  if (tlsGiven !== 0 && tlsGiven !== 3 && !caOnly)
    throw new UsageError(
      '--leaf-ca, --leaf-cert and --leaf-key go together (or --leaf-creds with --leaf-ca)',
    );
  const leafUrls = values['leaf-url'] ?? [];
  if ((tlsGiven > 0 || creds) && leafUrls.length === 0)
    throw new UsageError('--leaf-ca/--leaf-cert/--leaf-key/--leaf-creds need --leaf-url');
  const leaf =
    leafUrls.length === 0
      ? undefined
      : {
          urls: leafUrls,
          tls:
            tlsGiven === 3
              ? { caFile: tlsParts[0], certFile: tlsParts[1], keyFile: tlsParts[2] }
              : caOnly
                ? { caFile: values['leaf-ca'] }
                : undefined,
          credentials: creds,
        };
  const localHost = values.host === '0.0.0.0' || values.host === '::' ? '127.0.0.1' : values.host;
  return {
    nodeId: values['node-id'],
    outDir: values.out,
    port,
    host: values.host,
    storeDir: values['store-dir'],
    mode: values.mode,
    domain: values.domain,
    leaf,
    provision: values.provision,
    adminSeed: values['admin-seed'],
    limits,
    url: values.url ?? `nats://${localHost}:${port}`,
  };
}

async function main(argv) {
  let opts;
  try {
    opts = options(argv);
  } catch (err) {
    process.stderr.write(`nats-config: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { writeNatsConfig, provisionAsAdmin, renderedNodeId } = await import('@outpost/nats-config');
  if (opts.nodeId && opts.outDir) {
    const result = await writeNatsConfig(opts);
    process.stdout.write(`wrote ${result.configFile}\n`);
    for (const u of result.users) {
      process.stdout.write(
        `  user ${u.name}: ${u.publicKey} (${u.created ? 'new seed' : 'seed kept'} ${u.seedFile})\n`,
      );
    }
  }
  if (opts.provision) {
    const nodeId = opts.nodeId ?? (await renderedNodeId(opts.outDir));
    await provisionAsAdmin(
      opts.url,
      opts.adminSeed ?? join(opts.outDir, 'creds', 'admin.nk'),
      nodeId,
      opts.limits,
    );
    process.stdout.write(`provisioned JetStream of node ${nodeId} on ${opts.url} as admin\n`);
  }
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`nats-config: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
