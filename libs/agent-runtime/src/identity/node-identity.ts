/**
 * Who this node is. The id is resolved once per process, the same way in every agent, so agents that
 * run as separate units agree without talking: configured id first, then the persisted identity, then
 * one derived from /etc/machine-id (or the DMI product UUID). A derived id is an HMAC of the machine
 * id, never the machine id itself (systemd asks that machine-id not be exposed on the network).
 * The result is persisted atomically so it stays stable if those sources change later.
 */
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate, timestampDate } from '@bufbuild/protobuf/wkt';
import { IdentitySource, NodeIdentitySchema, type NodeIdentity } from '@outpost/contracts';
import type { Device } from '@outpost/device';
import { ConfigError } from '../config/settings.js';
import { readJson, writeJsonAtomic } from '../state/atomic-file.js';

const IDENTITY_FORMAT = 1;

interface StoredIdentity {
  nodeId: string;
  source: keyof typeof IdentitySource;
  hostname: string;
  productUuid: string;
  createdAt: string;
}

/** Owned by the node agent's state dir (the only one its unit may write); others only read it. */
export function identityFile(stateDir: string): string {
  return join(stateDir, 'node', 'identity.json');
}

/** 16 hex digits of HMAC-SHA256(secret, "outpost.node-id.v1"): stable, unique, and not the secret. */
export function deriveNodeId(secret: string): string {
  return createHmac('sha256', secret).update('outpost.node-id.v1').digest('hex').slice(0, 16);
}

export interface IdentityWarnings {
  warn(message: string, context?: string): void;
}

export async function resolveNodeIdentity(
  device: Device,
  stateDir: string,
  configuredNodeId: string,
  log: IdentityWarnings,
): Promise<NodeIdentity> {
  const path = identityFile(stateDir);
  const doc = await readJson<unknown>(path).catch((err: Error) => {
    log.warn(`${path} is unreadable (${err.message}); deriving the identity again`, 'Identity');
    return undefined;
  });
  // Only a well-formed record of this format is trusted; anything else is treated like a corrupt file.
  let stored: StoredIdentity | undefined;
  if (doc && doc.version === IDENTITY_FORMAT && isStoredIdentity(doc.data)) {
    stored = doc.data;
  } else if (doc) {
    log.warn(
      `${path} holds no valid identity (format ${doc.version}); deriving the identity again`,
      'Identity',
    );
  }
  const facts = await device.identityFacts();
  let identity: NodeIdentity;
  if (configuredNodeId) {
    identity = make(configuredNodeId, IdentitySource.CONFIGURED, facts.hostname, facts.productUuid);
  } else if (stored) {
    const d = stored;
    identity = create(NodeIdentitySchema, {
      nodeId: d.nodeId,
      source: IdentitySource[d.source] ?? IdentitySource.UNSPECIFIED,
      hostname: facts.hostname,
      productUuid: d.productUuid,
      createdAt: timestampFromDate(new Date(d.createdAt)),
    });
  } else if (facts.machineId) {
    identity = make(
      deriveNodeId(facts.machineId),
      IdentitySource.MACHINE_ID,
      facts.hostname,
      facts.productUuid,
    );
  } else if (facts.productUuid) {
    identity = make(
      deriveNodeId(facts.productUuid),
      IdentitySource.DMI_PRODUCT_UUID,
      facts.hostname,
      facts.productUuid,
    );
  } else {
    throw new ConfigError(
      'no node id: /etc/machine-id and the DMI product UUID are both missing or invalid; set OUTPOST_NODE_ID',
    );
  }
  if (stored?.nodeId !== identity.nodeId || stored?.hostname !== identity.hostname) {
    await persist(path, identity).catch((err: NodeJS.ErrnoException) => {
      // A read-only agent (another agent's unit owns the state dir) still runs with the resolved id.
      log.warn(`identity not persisted to ${path}: ${err.code ?? err.message}`, 'Identity');
    });
  }
  return identity;
}

/** Same rule as the nodeId setting: what a persisted id must look like to be used again. */
const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function isStoredIdentity(data: unknown): data is StoredIdentity {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return (
    typeof d.nodeId === 'string' &&
    NODE_ID.test(d.nodeId) &&
    typeof d.source === 'string' &&
    typeof d.hostname === 'string' &&
    typeof d.productUuid === 'string' &&
    typeof d.createdAt === 'string' &&
    !Number.isNaN(Date.parse(d.createdAt))
  );
}

function make(nodeId: string, source: IdentitySource, hostname: string, productUuid = ''): NodeIdentity {
  return create(NodeIdentitySchema, {
    nodeId,
    source,
    hostname,
    productUuid,
    createdAt: timestampFromDate(new Date()),
  });
}

async function persist(path: string, identity: NodeIdentity): Promise<void> {
  const data: StoredIdentity = {
    nodeId: identity.nodeId,
    source: IdentitySource[identity.source] as keyof typeof IdentitySource,
    hostname: identity.hostname,
    productUuid: identity.productUuid,
    createdAt: (identity.createdAt ? timestampDate(identity.createdAt) : new Date()).toISOString(),
  };
  await writeJsonAtomic(path, IDENTITY_FORMAT, data);
}
