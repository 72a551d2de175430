/**
 * Test TLS material for NATS leaf links (test/fleet, @outpost/nats-config's specs), made with the real
 * openssl binary, the way docs/fleet.md tells an operator to:
 * one CA, one server certificate for the hub (SAN 127.0.0.1 here, the hub's DNS name in the field) and one
 * client certificate per node (CN = node id), all ECDSA P-256.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPair {
  cert: string;
  key: string;
}

export interface FleetCerts {
  ca: string;
  hub: CertPair;
  nodes: Record<string, CertPair>;
}

export async function makeFleetCerts(dir: string, nodeIds: readonly string[]): Promise<FleetCerts> {
  const ca = join(dir, 'fleet-ca.pem');
  const caKey = join(dir, 'fleet-ca.key');
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    '/CN=outpost-fleet-test-ca',
  ]);
  const hub = await signed(
    dir,
    'hub',
    ca,
    caKey,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  const nodes: Record<string, CertPair> = {};
  for (const nodeId of nodeIds) {
    nodes[nodeId] = await signed(dir, nodeId, ca, caKey, 'extendedKeyUsage=clientAuth\n');
  }
  return { ca, hub, nodes };
}

async function signed(
  dir: string,
  name: string,
  ca: string,
  caKey: string,
  extensions: string,
): Promise<CertPair> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    `/CN=${name}`,
  ]);
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { cert, key };
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args, { timeout: 30_000 });
}
