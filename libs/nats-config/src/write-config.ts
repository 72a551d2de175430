/** Writes a node's nats-server.conf and its users' seeds into one directory (the install step). */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureUserSeed } from './seeds.js';
import { renderServerConfig, type LeafRemote } from './server-config.js';
import { nodeUsers, type DeploymentMode, type PermissionTable } from './users.js';

export interface NatsConfigOptions {
  nodeId: string;
  /** Output directory: nats-server.conf and creds/<user>.nk. */
  outDir: string;
  host?: string;
  port?: number;
  storeDir?: string;
  mode?: DeploymentMode;
  domain?: string;
  leaf?: LeafRemote;
  table?: PermissionTable;
}

export interface NatsConfigResult {
  configFile: string;
  /** OUTPOST_NODE_ID=<node> for outpost-nats-provision.service (EnvironmentFile=): what it provisions. */
  provisionEnvFile: string;
  credsDir: string;
  users: { name: string; seedFile: string; publicKey: string; created: boolean }[];
}

export const DEFAULT_STORE_DIR = '/var/lib/outpost/nats';
/** The file beside nats-server.conf that names the node for provisioning. */
export const PROVISION_ENV = 'provision.env';

/** The node id a rendered configuration directory was written for (its provision.env). */
export async function renderedNodeId(outDir: string): Promise<string> {
  const text = await readFile(join(outDir, PROVISION_ENV), 'utf8');
  const id = /^OUTPOST_NODE_ID=(.+)$/m.exec(text)?.[1]?.trim();
  if (!id) throw new Error(`${join(outDir, PROVISION_ENV)} names no OUTPOST_NODE_ID`);
  return id;
}

export async function writeNatsConfig(opts: NatsConfigOptions): Promise<NatsConfigResult> {
  const credsDir = join(opts.outDir, 'creds');
  await mkdir(credsDir, { recursive: true, mode: 0o700 });
  await chmod(credsDir, 0o700);
  const users = [];
  for (const user of nodeUsers(opts.nodeId, opts.mode ?? 'split', opts.table)) {
    const seed = await ensureUserSeed(credsDir, user.name);
    users.push({ ...user, nkey: seed.publicKey, seed });
  }
  const text = renderServerConfig({
    nodeId: opts.nodeId,
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 4222,
    storeDir: opts.storeDir ?? DEFAULT_STORE_DIR,
    domain: opts.domain,
    users,
    leaf: opts.leaf,
  });
  const configFile = join(opts.outDir, 'nats-server.conf');
  const tmp = `${configFile}.tmp-${process.pid}`;
  // Public keys and permissions only, but no reason for others to read who may do what.
  await writeFile(tmp, text, { mode: 0o640 });
  await rename(tmp, configFile);
  // Not secret: the node id, which the provisioning unit needs for the subjects of the agents' streams.
  const provisionEnvFile = join(opts.outDir, PROVISION_ENV);
  await writeFile(`${provisionEnvFile}.tmp-${process.pid}`, `OUTPOST_NODE_ID=${opts.nodeId}\n`, {
    mode: 0o644,
  });
  await rename(`${provisionEnvFile}.tmp-${process.pid}`, provisionEnvFile);
  return {
    configFile,
    provisionEnvFile,
    credsDir,
    users: users.map((u) => ({
      name: u.name,
      seedFile: u.seed.file,
      publicKey: u.nkey,
      created: u.seed.created,
    })),
  };
}
