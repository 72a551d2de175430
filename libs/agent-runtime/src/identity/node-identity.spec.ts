import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { IdentitySource, type NodeIdentity } from '@outpost/contracts';
import { SimulatedDevice } from '@outpost/device';
import { ConfigError } from '../config/settings.js';
import { readJson, writeJsonAtomic } from '../state/atomic-file.js';
import { deriveNodeId, identityFile, resolveNodeIdentity, type IdentityWarnings } from './node-identity.js';

interface Stored {
  nodeId: string;
  source: string;
  hostname: string;
  productUuid: string;
  createdAt: string;
}

/** Collects the warnings resolveNodeIdentity logs. */
class Warnings implements IdentityWarnings {
  readonly messages: string[] = [];
  warn(message: string, context?: string): void {
    this.messages.push(`${context ?? ''}: ${message}`);
  }
}

const MACHINE_ID_2 = '0123456789abcdef0123456789abcdef';

/** A complete record as persist() writes it. */
const VALID_RECORD: Stored = {
  nodeId: 'edge-7',
  source: 'CONFIGURED',
  hostname: 'old-name',
  productUuid: '4c4c4544-0042-3510-8051-b4c04f384e32',
  createdAt: '2024-05-01T12:00:00.000Z',
};

describe('resolveNodeIdentity', () => {
  let root: string;
  let simDir: string;
  let stateDir: string;
  let device: SimulatedDevice;
  let log: Warnings;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'outpost-identity-'));
    simDir = join(root, 'sim');
    stateDir = join(root, 'state');
    device = await SimulatedDevice.open(simDir);
    log = new Warnings();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const sim = (relative: string) => join(simDir, relative);
  const machineId = async () => (await readFile(sim('etc/machine-id'), 'utf8')).trim();
  const productUuid = async () => (await readFile(sim('sys/class/dmi/id/product_uuid'), 'utf8')).trim();
  const hostname = async () => (await readFile(sim('etc/hostname'), 'utf8')).trim();
  const resolve = (configured = '') => resolveNodeIdentity(device, stateDir, configured, log);
  const stored = () => readJson<Stored>(identityFile(stateDir));
  const createdAt = (id: NodeIdentity) =>
    id.createdAt ? timestampDate(id.createdAt).toISOString() : undefined;

  it('derives 16 hex digits from the machine id, never the machine id itself', async () => {
    const id = await resolve();
    const secret = await machineId();
    expect(secret).toMatch(/^[0-9a-f]{32}$/);
    expect(id.nodeId).toMatch(/^[0-9a-f]{16}$/);
    expect(id.nodeId).toBe(deriveNodeId(secret));
    expect(secret).not.toContain(id.nodeId);
    expect(id.source).toBe(IdentitySource.MACHINE_ID);
    expect(id.hostname).toBe(await hostname());
    expect(id.productUuid).toBe(await productUuid());
    expect(createdAt(id)).toBeDefined();
    expect(log.messages).toEqual([]);
  });

  it('derives different ids from different machine ids, and the same id from the same one', () => {
    expect(deriveNodeId(MACHINE_ID_2)).toBe(deriveNodeId(MACHINE_ID_2));
    expect(deriveNodeId(MACHINE_ID_2)).not.toBe(deriveNodeId(MACHINE_ID_2.replace('0', '1')));
  });

  it('is stable across calls and across a fresh device handle', async () => {
    const first = await resolve();
    const again = await resolve();
    device = await SimulatedDevice.open(simDir);
    const reopened = await resolve();
    for (const id of [again, reopened]) {
      expect(id.nodeId).toBe(first.nodeId);
      expect(id.source).toBe(first.source);
      expect(createdAt(id)).toBe(createdAt(first));
    }
  });

  it('persists the identity as a versioned document, readable only by its owner', async () => {
    const id = await resolve();
    const doc = await stored();
    expect(doc).toEqual({
      version: 1,
      data: {
        nodeId: id.nodeId,
        source: 'MACHINE_ID',
        hostname: await hostname(),
        productUuid: await productUuid(),
        createdAt: createdAt(id),
      },
    });
    expect((await stat(identityFile(stateDir))).mode & 0o777).toBe(0o600);
    expect(identityFile(stateDir)).toBe(join(stateDir, 'node', 'identity.json'));
    expect(await readdir(dirname(identityFile(stateDir)))).toEqual(['identity.json']);
  });

  it('does not write the machine id to the state dir', async () => {
    await resolve();
    expect(await readFile(identityFile(stateDir), 'utf8')).not.toContain(await machineId());
  });

  it('keeps the persisted id when the machine id changes later', async () => {
    const first = await resolve();
    await writeFile(sim('etc/machine-id'), `${MACHINE_ID_2}\n`);
    const after = await resolve();
    expect(after.nodeId).toBe(first.nodeId);
    expect(after.nodeId).not.toBe(deriveNodeId(MACHINE_ID_2));
    expect(after.source).toBe(IdentitySource.MACHINE_ID);
    expect((await stored())?.data.nodeId).toBe(first.nodeId);
  });

  it('keeps the persisted id, and updates the stored hostname, when the hostname changes', async () => {
    const first = await resolve();
    await writeFile(sim('etc/hostname'), 'renamed-node\n');
    const after = await resolve();
    expect(after.nodeId).toBe(first.nodeId);
    expect(after.hostname).toBe('renamed-node');
    expect(createdAt(after)).toBe(createdAt(first));
    expect((await stored())?.data).toMatchObject({ nodeId: first.nodeId, hostname: 'renamed-node' });
  });

  it('lets a configured id win, and persists it', async () => {
    const id = await resolve('edge-7');
    expect(id.nodeId).toBe('edge-7');
    expect(id.source).toBe(IdentitySource.CONFIGURED);
    expect((await stored())?.data).toMatchObject({ nodeId: 'edge-7', source: 'CONFIGURED' });
  });

  it('lets a configured id win over a persisted derived one, and replaces it', async () => {
    const derived = await resolve();
    const id = await resolve('edge-7');
    expect(id.nodeId).toBe('edge-7');
    expect(id.nodeId).not.toBe(derived.nodeId);
    expect((await stored())?.data.nodeId).toBe('edge-7');
  });

  it('keeps a once-configured id when the configuration no longer sets one', async () => {
    await resolve('edge-7');
    const id = await resolve();
    expect(id.nodeId).toBe('edge-7');
    expect(id.source).toBe(IdentitySource.CONFIGURED);
  });

  it.each([
    ['garbage', 'garbage\n'],
    ['an empty file', ''],
    ['all zeros', '00000000000000000000000000000000\n'],
    ['too short', '0123456789abcdef\n'],
  ])('falls back to the product UUID when the machine id is %s', async (_what, text) => {
    await writeFile(sim('etc/machine-id'), text);
    const id = await resolve();
    const uuid = await productUuid();
    expect(id.nodeId).toBe(deriveNodeId(uuid));
    expect(id.nodeId).toMatch(/^[0-9a-f]{16}$/);
    expect(uuid).not.toContain(id.nodeId);
    expect(id.source).toBe(IdentitySource.DMI_PRODUCT_UUID);
    expect((await stored())?.data).toMatchObject({ nodeId: id.nodeId, source: 'DMI_PRODUCT_UUID' });
  });

  it('falls back to the product UUID when the machine-id file is missing', async () => {
    await rm(sim('etc/machine-id'));
    const id = await resolve();
    expect(id.nodeId).toBe(deriveNodeId(await productUuid()));
    expect(id.source).toBe(IdentitySource.DMI_PRODUCT_UUID);
  });

  it.each([
    ['a placeholder UUID', '03000200-0400-0500-0006-000700080009\n'],
    ['all zeros', '00000000-0000-0000-0000-000000000000\n'],
    ['garbage', 'Not Settable\n'],
  ])(
    'throws a ConfigError when the machine id is invalid and the product UUID is %s',
    async (_what, uuid) => {
      await writeFile(sim('etc/machine-id'), 'garbage\n');
      await writeFile(sim('sys/class/dmi/id/product_uuid'), uuid);
      const err = await resolve().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('OUTPOST_NODE_ID');
      expect(await stored()).toBeUndefined();
    },
  );

  it('still resolves from the persisted id when both sources have become invalid', async () => {
    const first = await resolve();
    await writeFile(sim('etc/machine-id'), 'garbage\n');
    await writeFile(sim('sys/class/dmi/id/product_uuid'), '00000000-0000-0000-0000-000000000000\n');
    expect((await resolve()).nodeId).toBe(first.nodeId);
  });

  it('still resolves when the state dir cannot be written, and warns', async () => {
    // Tests run as root, where a 0555 directory is still writable; a path under a regular file is not.
    await writeFile(join(root, 'blocker'), 'a file, not a directory');
    stateDir = join(root, 'blocker', 'state');
    const id = await resolve();
    expect(id.nodeId).toBe(deriveNodeId(await machineId()));
    expect(id.source).toBe(IdentitySource.MACHINE_ID);
    const notPersisted = log.messages.filter((m) => m.includes('identity not persisted'));
    expect(notPersisted).toEqual([`Identity: identity not persisted to ${identityFile(stateDir)}: ENOTDIR`]);
    // The same id again, since it derives from the same machine id.
    expect((await resolve()).nodeId).toBe(id.nodeId);
  });

  it('warns and derives again when the persisted identity is corrupt, then repairs it', async () => {
    const first = await resolve();
    await writeFile(identityFile(stateDir), '{"version":1,"data":{"nodeId":"trunc');
    const id = await resolve();
    expect(id.nodeId).toBe(first.nodeId);
    expect(log.messages).toHaveLength(1);
    expect(log.messages[0]).toContain(`Identity: ${identityFile(stateDir)} is unreadable`);
    expect((await stored())?.data.nodeId).toBe(first.nodeId);
  });

  it.each([
    ['data null', { version: 1, data: null }],
    ['data a string', { version: 1, data: 'edge-7' }],
    ['no fields', { version: 1, data: {} }],
    ['an empty node id', { version: 1, data: { ...VALID_RECORD, nodeId: '' } }],
    ['a node id with spaces', { version: 1, data: { ...VALID_RECORD, nodeId: 'edge 7' } }],
    ['a numeric node id', { version: 1, data: { ...VALID_RECORD, nodeId: 7 } }],
    ['no createdAt', { version: 1, data: { ...VALID_RECORD, createdAt: undefined } }],
    ['an invalid createdAt', { version: 1, data: { ...VALID_RECORD, createdAt: 'yesterday' } }],
    ['no hostname', { version: 1, data: { ...VALID_RECORD, hostname: undefined } }],
    ['a non-string product UUID', { version: 1, data: { ...VALID_RECORD, productUuid: 1 } }],
    ['another format with data null', { version: 2, data: null }],
  ])('warns, derives again and repairs the file when the persisted record has %s', async (_what, doc) => {
    await mkdir(dirname(identityFile(stateDir)), { recursive: true });
    await writeFile(identityFile(stateDir), JSON.stringify(doc));
    const id = await resolve();
    expect(id.nodeId).toBe(deriveNodeId(await machineId()));
    expect(id.source).toBe(IdentitySource.MACHINE_ID);
    expect(log.messages).toEqual([
      `Identity: ${identityFile(stateDir)} holds no valid identity (format ${doc.version}); deriving the identity again`,
    ]);
    expect((await stored())?.data).toMatchObject({ nodeId: id.nodeId, source: 'MACHINE_ID' });
  });

  it('uses a hand-written record that is complete, with an unknown source as UNSPECIFIED', async () => {
    await mkdir(dirname(identityFile(stateDir)), { recursive: true });
    await writeJsonAtomic(identityFile(stateDir), 1, { ...VALID_RECORD, source: 'SOMETHING_NEW' });
    const id = await resolve();
    expect(id.nodeId).toBe(VALID_RECORD.nodeId);
    expect(id.source).toBe(IdentitySource.UNSPECIFIED);
    expect(createdAt(id)).toBe(VALID_RECORD.createdAt);
    expect(log.messages).toEqual([]);
  });

  it('derives again when the persisted identity has another format version', async () => {
    await mkdir(dirname(identityFile(stateDir)), { recursive: true });
    await writeJsonAtomic(identityFile(stateDir), 99, { nodeId: 'from-the-future' });
    const id = await resolve();
    expect(id.nodeId).toBe(deriveNodeId(await machineId()));
    expect(id.source).toBe(IdentitySource.MACHINE_ID);
  });
});
