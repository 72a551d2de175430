/**
 * A small test-local renderer of the fleet's nats-server configs: the text comes from deploy/nats/ (so the
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

export interface NodeServer {
  nodeId: string;
  /** The account the agents use on the node's server, bridged to the hub by the leafnode remote. */
  account: string;
  user: string;
  password: string;
  hubLeafPorts: readonly number[];
  tls: { cert: string; key: string; ca: string };
}

/** The node server: its account and JetStream domain (what libs/nats-config renders) plus node-leaf.conf. */
export function nodeConfig(node: NodeServer): string {
  return [
    `server_name: leaf-${node.nodeId}`,
    `jetstream { domain: ${node.nodeId} }`,
    `accounts { ${node.account} { jetstream: enabled, users: [ { user: ${node.user}, password: "${node.password}" } ] } }`,
    renderNatsTemplate('node-leaf.conf', {
      HUB_URLS: node.hubLeafPorts.map((p) => `tls://127.0.0.1:${p}`).join(', '),
      ACCOUNT: node.account,
      TLS_CERT: node.tls.cert,
      TLS_KEY: node.tls.key,
      TLS_CA: node.tls.ca,
    }),
  ].join('\n');
}
