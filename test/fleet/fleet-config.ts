/**
 * A small test-local renderer of the hub's nats-server config (the node side is rendered by
 * @outpost/nats-config, as deploy/install.sh does): the text comes from deploy/nats/ (so the
 * test runs exactly what an operator deploys), the values from the test. Full-line comments are dropped
 * (they document the placeholders); a placeholder left without a value is an error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../e2e/app-process.js';

export function renderNatsTemplate(file: string, values: Readonly<Record<string, string>>): string {
  const text = readFileSync(join(ROOT, 'deploy', 'nats', file), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
  const rendered = text.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${file}: no value for placeholder ${whole}`);
    return value;
  });
  return rendered;
}

export interface HubMember {
  serverName: string;
  storeDir: string;
  clusterPort: number;
  leafPort: number;
}

export function hubConfig(
  member: HubMember,
  routePorts: readonly number[],
  tls: { cert: string; key: string; ca: string },
): string {
  return renderNatsTemplate('hub.conf', {
    SERVER_NAME: member.serverName,
    // The harness passes -a/-p for the client listener; those flags take precedence over this line.
    CLIENT_LISTEN: '127.0.0.1:0',
    CLUSTER_LISTEN: `127.0.0.1:${member.clusterPort}`,
    ROUTES: routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', '),
    LEAF_LISTEN: `127.0.0.1:${member.leafPort}`,
    LEAF_ADVERTISE: `127.0.0.1:${member.leafPort}`,
    STORE_DIR: member.storeDir,
    TLS_CERT: tls.cert,
    TLS_KEY: tls.key,
    TLS_CA: tls.ca,
  });
}

/** A hub member in operator mode (deploy/nats/hub-operator.conf): nodes join with enrolment credentials. */
export function hubOperatorConfig(
  member: HubMember,
  routePorts: readonly number[],
  tls: { cert: string; key: string },
  resolverConf: string,
): string {
  return renderNatsTemplate('hub-operator.conf', {
    SERVER_NAME: member.serverName,
    CLIENT_LISTEN: '127.0.0.1:0',
    CLUSTER_LISTEN: `127.0.0.1:${member.clusterPort}`,
    ROUTES: routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', '),
    LEAF_LISTEN: `127.0.0.1:${member.leafPort}`,
    LEAF_ADVERTISE: `127.0.0.1:${member.leafPort}`,
    STORE_DIR: member.storeDir,
    TLS_CERT: tls.cert,
    TLS_KEY: tls.key,
    RESOLVER_CONF: resolverConf,
  });
}
