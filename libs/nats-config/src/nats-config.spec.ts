/**
 * Rendering a node's nats-server configuration: the users and their permissions from the table, seeds
 * kept across runs with mode 0400, and every variant (split, all-in-one, JetStream domain, a leaf
 * remote over TLS with certificates made by openssl here, one with enrolment credentials) accepted by
 * the real `nats-server -t`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AGENT_IDS, HUB_SERVICE_IDS } from '@outpost/contracts';
import { makeFleetCerts, resolveNatsServerBinary } from '@outpost/testing';
import { nodeUsers, permissionsFor } from './users.js';
import { writeNatsConfig } from './write-config.js';

const run = promisify(execFile);

/** `nats-server -t -c file`: exit code and output, without throwing. */
async function serverAccepts(file: string): Promise<{ ok: boolean; output: string }> {
  const bin = await resolveNatsServerBinary();
  try {
    const { stdout, stderr } = await run(bin, ['-t', '-c', file]);
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('nats-config', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-nats-config-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('split mode: one user per agent plus the admin, seeds 0400 in a 0700 dir, accepted by nats-server', async () => {
    const out = join(dir, 'split');
    const result = await writeNatsConfig({ nodeId: 'n1', outDir: out, storeDir: join(dir, 'js') });
    expect(result.users.map((u) => u.name)).toEqual([...AGENT_IDS, 'admin']);
    // Hub services (fleet, enrolment) have their users on the hub (hub-accounts), never on a node.
    const names = result.users.map((u) => u.name);
    for (const id of HUB_SERVICE_IDS) expect(names).not.toContain(id);
    for (const u of result.users) {
      expect(u.created).toBe(true);
      expect((await stat(u.seedFile)).mode & 0o777).toBe(0o400);
      expect((await readFile(u.seedFile, 'utf8')).trim()).toMatch(/^SU[A-Z2-7]{56}$/);
    }
    expect((await stat(result.credsDir)).mode & 0o777).toBe(0o700);
    const text = await readFile(result.configFile, 'utf8');
    for (const u of result.users) expect(text).toContain(`nkey: "${u.publicKey}"`);
    expect(await serverAccepts(result.configFile)).toEqual({
      ok: true,
      output: expect.stringContaining('valid'),
    });
  });

  it('keeps existing seeds when run again (idempotent)', async () => {
    const out = join(dir, 'split');
    const before = await readFile(join(out, 'nats-server.conf'), 'utf8');
    const again = await writeNatsConfig({ nodeId: 'n1', outDir: out, storeDir: join(dir, 'js') });
    expect(again.users.every((u) => !u.created)).toBe(true);
    expect(await readFile(again.configFile, 'utf8')).toBe(before);
  });

  it('all-in-one mode: the edge-node user holds the union of every agent user', () => {
    const [edge, admin] = nodeUsers('n1', 'all-in-one');
    expect([edge.name, admin.name]).toEqual(['edge-node', 'admin']);
    expect(admin.permissions).toBeUndefined();
    const pub = new Set(edge.permissions?.publish.allow);
    const sub = new Set(edge.permissions?.subscribe.allow);
    for (const agent of AGENT_IDS) {
      const own = permissionsFor('n1', agent, [agent]);
      for (const s of own.publish.allow) expect(pub).toContain(s);
      for (const s of own.subscribe.allow.filter((x) => !x.startsWith('_INBOX.'))) expect(sub).toContain(s);
    }
    expect(sub).toContain('_INBOX.edge-node.>');
    // Nothing of a hub service's room: edge-node runs none of them.
    const rooms = HUB_SERVICE_IDS.flatMap((id) => [
      `.${id}.cmd`,
      `.${id}.evt`,
      `.${id}.status`,
      `outpost-${id}`,
    ]);
    expect([...pub, ...sub].filter((x) => rooms.some((room) => x.includes(room)))).toEqual([]);
  });

  it('grants an agent its own room and its row, nothing of the rest of the node', () => {
    const p = permissionsFor('n1', 'hardware', ['hardware']);
    expect(p.publish.allow).toEqual(
      expect.arrayContaining([
        'edge.n1.hardware.evt.>',
        'edge.n1.hardware.status',
        '$KV.edge_status.n1.hardware',
        '$KV.edge_status.n1.hardware.inventory',
        '$JS.API.STREAM.INFO.KV_edge_status',
      ]),
    );
    expect(p.subscribe.allow).toEqual(
      expect.arrayContaining([
        'edge.n1.hardware.cmd.*',
        '_INBOX.hardware.>',
        '$SRV.*',
        '$SRV.*.outpost-hardware',
      ]),
    );
    const all = [...p.publish.allow, ...p.subscribe.allow];
    expect(all.some((s) => s.startsWith('edge.>') || s.includes('.update.') || s === '>')).toBe(false);
    expect(all.some((s) => /CREATE|UPDATE/.test(s))).toBe(false);

    const o = permissionsFor('n1', 'orchestrator', ['orchestrator']);
    expect(o.publish.allow).toEqual(
      expect.arrayContaining([
        'edge.n1.update.cmd.install',
        '$JS.API.CONSUMER.MSG.NEXT.KV_edge_desired.kvw_n1_orchestrator_n1-update',
        '$JS.ACK.KV_edge_desired.kvw_n1_orchestrator_n1-update.>',
        '$JS.API.DIRECT.GET.KV_edge_desired.$KV.edge_desired.n1.update',
        '$JS.API.DIRECT.GET.KV_edge_status.$KV.edge_status.rollout.*.*',
        '$KV.edge_status.rollout.*.*',
      ]),
    );
    expect(o.subscribe.allow).toContain('edge.n1.update.evt.state');
    // No user may create or update a stream or consumer: the configuration would be its own choice.
    const agentUsers = [...nodeUsers('n1', 'split'), ...nodeUsers('n1', 'all-in-one')].filter(
      (u) => u.permissions,
    );
    expect(agentUsers).toHaveLength(AGENT_IDS.length + 1);
    for (const user of agentUsers) {
      const granted = user.permissions?.publish.allow ?? [];
      expect({
        user: user.name,
        create: granted.filter((s) => /CREATE|UPDATE|\$JS\.API\.>/.test(s)),
      }).toEqual({
        user: user.name,
        create: [],
      });
    }
  });

  it('renders the JetStream domain and a leaf remote with TLS that nats-server accepts', async () => {
    const pki = join(dir, 'pki');
    await mkdir(pki);
    const certs = await makeFleetCerts(pki, ['n1']);
    const leaf = {
      urls: ['tls://hub-a.example:7422', 'tls://hub-b.example:7422'],
      tls: { caFile: certs.ca, certFile: certs.nodes.n1.cert, keyFile: certs.nodes.n1.key },
    };
    const result = await writeNatsConfig({
      nodeId: 'n1',
      outDir: join(dir, 'leaf'),
      storeDir: join(dir, 'js'),
      mode: 'all-in-one',
      domain: 'n1',
      port: 4333,
      host: '0.0.0.0',
      leaf,
    });
    const text = await readFile(result.configFile, 'utf8');
    expect(text).toContain('domain: "n1"');
    expect(text).toContain('port: 4333');
    expect(text).toContain(`cert_file: "${leaf.tls.certFile}"`);
    // Other nodes' events stay on the hub (docs/fleet.md): the fleet e2e shows why.
    expect(text).toMatch(/deny_imports: \[\s*"edge\.\*\.\*\.evt\.>"\s*\]/);
    expect(await serverAccepts(result.configFile)).toEqual({
      ok: true,
      output: expect.stringContaining('valid'),
    });

    // The check is real: a key file that is not there is refused.
    const broken = await writeNatsConfig({
      nodeId: 'n1',
      outDir: join(dir, 'broken'),
      storeDir: join(dir, 'js'),
      leaf: { ...leaf, tls: { ...leaf.tls, keyFile: join(pki, 'missing.key') } },
    });
    expect((await serverAccepts(broken.configFile)).ok).toBe(false);
  });

  it('renders a leaf remote to an operator-mode hub: enrolment credentials (not there yet) and the CA only', async () => {
    const pki = join(dir, 'pki-creds');
    await mkdir(pki);
    const certs = await makeFleetCerts(pki, []);
    const credentials = join(dir, 'creds-leaf', 'hub.creds');
    const result = await writeNatsConfig({
      nodeId: 'n2',
      outDir: join(dir, 'creds-leaf'),
      storeDir: join(dir, 'js2'),
      domain: 'n2',
      leaf: { urls: ['tls://hub-a.example:7422'], tls: { caFile: certs.ca }, credentials },
    });
    const text = await readFile(result.configFile, 'utf8');
    expect(text).toContain(`credentials: "${credentials}"`);
    expect(text).toContain(`ca_file: "${certs.ca}"`);
    expect(text).not.toContain('cert_file');
    // Accepted before the node has enrolled: the remote retries until the file exists.
    expect(await serverAccepts(result.configFile)).toEqual({
      ok: true,
      output: expect.stringContaining('valid'),
    });
  });
});
