/** Writes a node's nats-server.conf and its users' seeds into one directory (the install step). */
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
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
  credsDir: string;
  users: { name: string; seedFile: string; publicKey: string; created: boolean }[];
}

export const DEFAULT_STORE_DIR = '/var/lib/outpost/nats';

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
  return {
    configFile,
    credsDir,
    users: users.map((u) => ({
      name: u.name,
      seedFile: u.seed.file,
      publicKey: u.nkey,
      created: u.seed.created,
    })),
  };
}
