// The install path end to end, for real: `npm run bundle` (tools/scripts/bundle.mjs) builds the bundle once,
// deploy/install.sh lays it out in a throw-away root (--root), systemd-analyze verifies the installed units
// there, systemctl --root shows which units each mode enables, deploy/uninstall.sh takes it away again, and
// the installed bundle itself (its own Node binary and packed apps, outside the repository) runs the suite
// on a simulated device against a nats-server started here, reading the configuration install.sh wrote.
// Systemd itself (PID 1) does not run here, so the units are not started; see docs/deploy.md.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { constants, readdirSync } from 'node:fs';
import {
  access,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { nkeyAuthenticator, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { AGENT_IDS } from '@outpost/contracts';
import { readSeedFile } from '@outpost/nats-config';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { execPaths, findSystemdAnalyze, verifyInRoot } from './systemd-analyze.js';

const REPO = resolve(new URL('../..', import.meta.url).pathname);
const MACHINE_ID = '0123456789abcdef0123456789abcdef';
// Every agent app of the workspace (apps/<agent>-agent), as the bundle finds them.
const AGENTS = readdirSync(join(REPO, 'apps'))
  .filter((app) => app.endsWith('-agent'))
  .map((app) => app.slice(0, -'-agent'.length))
  .sort();
const AGENT_UNITS = AGENTS.map((a) => `outpost-${a}-agent.service`).sort();

interface Run {
  code: number;
  out: string;
}

function sh(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { encoding: 'utf8', env, maxBuffer: 16 << 20, timeout: 240_000 },
      (err, stdout, stderr) =>
        done({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** uid/gid of a name in the tree's own /etc/passwd or /etc/group. */
async function idOf(root: string, db: 'passwd' | 'group', name: string): Promise<number | undefined> {
  const line = (await readFile(join(root, 'etc', db), 'utf8'))
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.split(':')[2]) : undefined;
}

/** Unit names enabled under a target in the tree (symlinks in <target>.wants). */
async function wants(root: string, target: string): Promise<string[]> {
  const dir = join(root, 'etc/systemd/system', `${target}.wants`);
  return (await exists(dir)) ? (await readdir(dir)).sort() : [];
}

/** Every path below dir whose mode has group or other write permission. */
async function groupOrWorldWritable(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isSymbolicLink()) continue;
    if ((await stat(path)).mode & 0o022) out.push(path);
  }
  return out;
}

const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;

describe('the bundle and deploy/install.sh', () => {
  let work: string;
  let bundle: string;
  let root: string;
  let install: (...args: string[]) => Promise<Run>;
  let uninstall: (...args: string[]) => Promise<Run>;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'outpost-install-'));
    bundle = join(work, 'bundle/outpost');
    // Once per run: build + npm ci --omit=dev (from npm's cache) + layout.
    const made = await sh(process.execPath, [join(REPO, 'tools/scripts/bundle.mjs'), '--out', bundle]);
    if (made.code !== 0) throw new Error(`npm run bundle failed:\n${made.out}`);
    root = join(work, 'root');
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/machine-id'), `${MACHINE_ID}\n`);
    install = (...args) => sh(join(bundle, 'deploy/install.sh'), ['--root', root, ...args]);
    uninstall = (...args) => sh(join(bundle, 'deploy/uninstall.sh'), ['--root', root, ...args]);
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe('npm run bundle', () => {
    it('carries Node 24 for this architecture and says what it is', async () => {
      const version = await sh(join(bundle, 'node/bin/node'), ['--version'], { PATH: '/usr/bin:/bin' });
      expect(version.out.trim()).toMatch(/^v24\./);
      const manifest = JSON.parse(await readFile(join(bundle, 'bundle.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(manifest).toMatchObject({
        name: 'outpost',
        arch: process.arch,
        node: version.out.trim().slice(1),
        agents: AGENTS,
        lockfileSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    });

    it('holds every app as one packed module, with no node_modules and nothing of the build', async () => {
      const apps = readdirSync(join(REPO, 'apps')).sort();
      expect(await readdir(join(bundle, 'apps'))).toEqual(apps);
      for (const app of apps) {
        const dist = await readdir(join(bundle, 'apps', app, 'dist'));
        expect({ app, dist: dist.sort() }).toEqual({
          app,
          dist: ['main.js', 'main.js.LEGAL.txt', 'main.js.map'],
        });
        // Self-contained: the workspace libs and dependencies are inside, not imported by name.
        const text = await readFile(join(bundle, 'apps', app, 'dist/main.js'), 'utf8');
        expect({ app, bareImports: text.match(/from\s*"@(outpost|nestjs|nats-io)\//g) }).toEqual({
          app,
          bareImports: null,
        });
      }
      expect(await exists(join(bundle, 'tools/nats-config.mjs'))).toBe(true);
      for (const gone of ['node_modules', 'libs', 'package-lock.json']) {
        expect({ gone, present: await exists(join(bundle, gone)) }).toEqual({ gone, present: false });
      }
    });
  });

  describe('install --mode split, then --mode all-in-one, then uninstall', () => {
    const prefix = () => join(root, 'opt/outpost');

    it('installs the bundle, users, directories, units, polkit rules and configuration', async () => {
      const r = await install(
        '--mode',
        'split',
        '--update-server',
        '10.0.2.100',
        '--update-server',
        '2001:db8::/64',
      );
      expect({ code: r.code, out: r.out }).toEqual({ code: 0, out: expect.stringContaining('done:') });

      // The bundle: root-owned, nothing writable by group or others, the units' programs where they point.
      expect(await groupOrWorldWritable(prefix())).toEqual([]);
      expect((await stat(join(prefix(), 'apps/edge-node/dist/main.js'))).uid).toBe(0);
      await access(join(prefix(), 'node/bin/node'), constants.X_OK);
      await access(join(prefix(), 'libexec/outpost-cluster-provider'), constants.X_OK);
      await access(join(prefix(), 'libexec/outpost-boot-helper'), constants.X_OK);

      // Users from sysusers.d in the tree's own user database.
      for (const user of [...AGENTS.map((a) => `outpost-${a}`), 'outpost-edge', 'outpost-nats']) {
        expect({ user, uid: typeof (await idOf(root, 'passwd', user)) }).toEqual({ user, uid: 'number' });
      }

      // Directories from tmpfiles.d, with their modes.
      const mode = async (p: string) => ((await stat(join(root, p))).mode & 0o7777).toString(8);
      expect(await mode('etc/outpost')).toBe('755');
      expect(await mode('etc/outpost/cluster-secrets')).toBe('700');
      expect(await mode('etc/outpost/nats')).toBe('750');
      expect(await mode('etc/outpost/nats/creds')).toBe('700');
      expect(await mode('var/lib/outpost')).toBe('755');

      // NATS: the server may read its configuration, nobody but root the seeds.
      const conf = await stat(join(root, 'etc/outpost/nats/nats-server.conf'));
      expect({ mode: (conf.mode & 0o777).toString(8), uid: conf.uid, gid: conf.gid }).toEqual({
        mode: '640',
        uid: 0,
        gid: await idOf(root, 'group', 'outpost-nats'),
      });
      const seeds = (await readdir(join(root, 'etc/outpost/nats/creds'))).sort();
      // Split mode: one user per agent id of the permission table, and the admin (all-in-one adds edge-node).
      expect(seeds).toEqual([...AGENT_IDS, 'admin'].map((u) => `${u}.nk`).sort());
      for (const seed of seeds) expect(await mode(`etc/outpost/nats/creds/${seed}`)).toBe('600');
      const nats = await sh('/usr/sbin/nats-server', [
        '-t',
        '-c',
        join(root, 'etc/outpost/nats/nats-server.conf'),
      ]);
      expect(nats).toEqual({ code: 0, out: expect.stringContaining('is valid') });

      // Configuration the agents read: the node id the agents would derive, every agent required.
      const config = async (name: string) =>
        JSON.parse(await readFile(join(root, 'etc/outpost', name), 'utf8')) as Record<string, unknown>;
      const derived = await sh(process.execPath, [
        '-e',
        `process.stdout.write(require('node:crypto').createHmac('sha256', '${MACHINE_ID}').update('outpost.node-id.v1').digest('hex').slice(0, 16))`,
      ]);
      expect(await config('outpost.json')).toEqual({ nodeId: derived.out });
      expect(await config('node.json')).toEqual({ requiredAgents: AGENTS });
      expect(await config('cluster.json')).toMatchObject({
        k3sInstallerArgs: ['start', 'outpost-cluster-install@k3s.service'],
      });
      expect(await readFile(join(root, 'etc/outpost/cluster-provider.env'), 'utf8')).toBe(
        'OUTPOST_KUBECONFIG_GROUP=outpost-cluster\n',
      );
      for (const rules of ['50-outpost-update.rules', '50-outpost-cluster.rules']) {
        expect(await exists(join(root, 'etc/polkit-1/rules.d', rules))).toBe(true);
      }

      // The update agent's privileges on a real node: the slot partitions by a group given by udev
      // (members: its user and the all-in-one user), the boot helper's unit, the update server drop-in,
      // and systemd-bless-boot masked (the agent blesses after its trial).
      expect(await readFile(join(root, 'etc/udev/rules.d/70-outpost-slots.rules'), 'utf8')).toMatch(
        /ID_PART_ENTRY_NAME}=="rootfs_a\|rootfs_b", GROUP="outpost-slots", MODE="0660"/,
      );
      const slots = (await readFile(join(root, 'etc/group'), 'utf8'))
        .split('\n')
        .find((l) => l.startsWith('outpost-slots:'));
      expect(slots?.split(':')[3]?.split(',').sort()).toEqual(['outpost-edge', 'outpost-update']);
      expect(await exists(join(root, 'etc/systemd/system/outpost-boot@.service'))).toBe(true);
      expect(
        await readFile(
          join(root, 'etc/systemd/system/outpost-update-agent.service.d/50-update-server.conf'),
          'utf8',
        ),
      ).toMatch(/^IPAddressAllow=10\.0\.2\.100 2001:db8::\/64$/m);
      expect(await readlink(join(root, 'etc/systemd/system/systemd-bless-boot.service'))).toBe('/dev/null');
    });

    it('split: enables the NATS server and one unit per agent, not the all-in-one unit', async () => {
      expect(await wants(root, 'multi-user.target')).toEqual(['outpost.target']);
      expect(await wants(root, 'outpost.target')).toEqual(
        [...AGENT_UNITS, 'outpost-nats.service', 'outpost-nats-provision.service'].sort(),
      );
      const link = await readlink(
        join(root, 'etc/systemd/system/outpost.target.wants/outpost-node-agent.service'),
      );
      expect(link).toBe('/etc/systemd/system/outpost-node-agent.service');
    });

    it('the installed units verify in the tree (systemd-analyze verify --root)', async () => {
      // The host's stock units (sysinit.target & co.) and stand-ins for host programs the tree lacks;
      // the units' own programs under /opt/outpost are the real ones from the bundle.
      for (const hostUnits of ['/usr/lib/systemd/system', '/lib/systemd/system']) {
        if (!(await exists(hostUnits))) continue;
        await cp(hostUnits, join(root, 'usr/lib/systemd/system'), {
          recursive: true,
          verbatimSymlinks: true,
        });
        break;
      }
      const unitDir = join(root, 'etc/systemd/system');
      // Outpost's units (systemd-bless-boot.service is there only as a mask, a link to /dev/null).
      const units = (await readdir(unitDir)).filter((u) => /^outpost.*\.(service|target)$/.test(u)).sort();
      expect(units).toEqual(
        expect.arrayContaining([
          'outpost.target',
          'outpost-nats.service',
          'outpost-nats-provision.service',
          'outpost-edge-node.service',
          ...AGENT_UNITS,
        ]),
      );
      for (const unit of units) {
        for (const program of execPaths(await readFile(join(unitDir, unit), 'utf8'))) {
          if (program.startsWith('/opt/outpost/')) {
            await access(join(root, program), constants.X_OK);
            continue;
          }
          if (await exists(join(root, program))) continue;
          await mkdir(dirname(join(root, program)), { recursive: true });
          await writeFile(join(root, program), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
        }
      }
      const result = await verifyInRoot(root, units, findSystemdAnalyze());
      expect(result.problems).toEqual([]);
      expect(result.exitCode).toBe(0);
    });

    it('all-in-one: the edge-node unit instead of the agents; configuration and state are kept', async () => {
      await writeFile(join(root, 'etc/outpost/telemetry.json'), '{ "maxIntervalSeconds": 600 }\n');
      await mkdir(join(root, 'var/lib/outpost/node'), { recursive: true });
      await writeFile(join(root, 'var/lib/outpost/node/identity.json'), '{"kept":true}');
      const r = await install('--mode', 'all-in-one');
      expect({ code: r.code, out: r.out }).toEqual({
        code: 0,
        out: expect.stringContaining('mode all-in-one'),
      });
      expect(await wants(root, 'outpost.target')).toEqual([
        'outpost-edge-node.service',
        'outpost-nats-provision.service',
        'outpost-nats.service',
      ]);
      expect(await readFile(join(root, 'etc/outpost/telemetry.json'), 'utf8')).toContain('600');
      expect(await readFile(join(root, 'var/lib/outpost/node/identity.json'), 'utf8')).toBe('{"kept":true}');
      expect(await readFile(join(root, 'etc/outpost/cluster-provider.env'), 'utf8')).toBe(
        'OUTPOST_KUBECONFIG_GROUP=outpost-edge\n',
      );
      // The edge-node unit names every agent unit in Conflicts=, so systemd never runs both sets.
      const edge = await readFile(join(root, 'etc/systemd/system/outpost-edge-node.service'), 'utf8');
      const conflicts = [...edge.matchAll(/^Conflicts=(.*)$/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
      expect(conflicts.sort()).toEqual(AGENT_UNITS);
    });

    it('refuses an update server that is not an address', async () => {
      const r = await install('--mode', 'all-in-one', '--update-server', 'updates.example');
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/--update-server 'updates.example': an IPv4 or IPv6 address/);
    });

    it('refuses a mode that does not exist, and changes nothing', async () => {
      const r = await install('--mode', 'both');
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/--mode must be split or all-in-one/);
      expect(await wants(root, 'outpost.target')).toEqual([
        'outpost-edge-node.service',
        'outpost-nats-provision.service',
        'outpost-nats.service',
      ]);
    });

    it('the installed bundle runs the suite on its own (all-in-one, simulated device) and answers $SRV.PING', async () => {
      let nats: NatsServerHandle | undefined;
      let nc: NatsConnection | undefined;
      const home = join(work, 'run');
      const nodeId = ((await readFile(join(root, 'etc/outpost/outpost.json'), 'utf8')).match(
        /"([0-9a-f]{16})"/,
      ) ?? [])[1];
      expect(nodeId).toMatch(/^[0-9a-f]{16}$/);
      // Only the bundle: its own node, cwd outside the repository, no NODE_PATH, a bare PATH.
      const env = simulatedNodeEnv(home, '', {
        PATH: '/usr/bin:/bin',
        OUTPOST_CONFIG_DIR: join(root, 'etc/outpost'),
        OUTPOST_STATUS_INTERVAL_MS: '500',
      });
      await mkdir(home, { recursive: true });
      let output = '';
      let child: ReturnType<typeof spawn> | undefined;
      try {
        // The installed server configuration (nkey users, permissions), with its store moved into the
        // test's directory; then JetStream provisioned as outpost-nats-provision.service does it.
        const nats_ = join(root, 'etc/outpost/nats');
        const conf = (await readFile(join(nats_, 'nats-server.conf'), 'utf8')).replaceAll(
          '/var/lib/outpost/nats/jetstream',
          join(home, 'jetstream'),
        );
        expect(conf).toContain(join(home, 'jetstream'));
        await writeFile(join(home, 'nats-server.conf'), conf);
        nats = await startNatsServer({ configFile: join(home, 'nats-server.conf') });
        // The unit's EnvironmentFile= names the node whose agent streams and watches it provisions.
        const provisionEnv = await readFile(join(nats_, 'provision.env'), 'utf8');
        const nodeId = /^OUTPOST_NODE_ID=(\S+)$/m.exec(provisionEnv)?.[1] ?? '';
        expect(nodeId).toMatch(/^[0-9a-f]{16}$/);
        const provision = spawnSync(
          join(root, 'opt/outpost/node/bin/node'),
          [
            join(root, 'opt/outpost/tools/nats-config.mjs'),
            '--provision',
            '--admin-seed',
            join(nats_, 'creds/admin.nk'),
            '--node-id',
            nodeId,
            '--url',
            nats.url,
          ],
          { cwd: home, env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' },
        );
        expect({ code: provision.status, out: provision.stdout + provision.stderr }).toEqual({
          code: 0,
          out: expect.stringContaining('provisioned JetStream'),
        });
        nc = await connectTo(nats, {
          authenticator: nkeyAuthenticator(await readSeedFile(join(nats_, 'creds/admin.nk'))),
        });
        child = spawn(
          join(root, 'opt/outpost/node/bin/node'),
          [join(root, 'opt/outpost/apps/edge-node/dist/main.js')],
          {
            cwd: home,
            // As the all-in-one unit runs it: its own user's seed (LoadCredential=nats.nk:...edge-node.nk).
            env: { ...env, NATS_URL: nats.url, OUTPOST_NATS_NKEY_FILE: join(nats_, 'creds/edge-node.nk') },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-100_000)));
        child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-100_000)));
        const conn = nc;
        const names = await eventually(async () => {
          const pings: Record<string, unknown>[] = [];
          for await (const m of await conn.requestMany('$SRV.PING', '', { maxWait: 1000 }))
            pings.push(json(m));
          const mine = pings.filter(
            (p) => (p.metadata as Record<string, string> | undefined)?.node_id === nodeId,
          );
          const found = mine.map((p) => String(p.name)).sort();
          if (found.length < AGENTS.length) throw new Error(`only ${found.join(', ')} answered:\n${output}`);
          return found;
        });
        expect(names).toEqual(AGENTS.map((a) => `outpost-${a}`));
        const health = json(await nc.request(`edge.${nodeId}.node.cmd.health`, '{}', { timeout: 5000 }));
        expect(health.nodeId).toBe(nodeId);
        // ENOENT: a tool the agents spawn that this bare PATH leaves out (sfdisk lives in /usr/sbin).
        expect(output).not.toMatch(
          /ERR_MODULE_NOT_FOUND|Cannot find (module|package)|PERMISSIONS_VIOLATION|ENOENT/,
        );
        // The installed operator CLI (on PATH through /usr/local/bin) sees the node, as the admin.
        expect(await readlink(join(root, 'usr/local/bin/outpostctl'))).toBe('/opt/outpost/bin/outpostctl');
        const ctl = spawnSync(
          join(root, 'opt/outpost/bin/outpostctl'),
          ['nodes', '--json', '--server', nats.url, '--creds', join(nats_, 'creds/admin.nk')],
          { cwd: home, env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' },
        );
        expect({ code: ctl.status, err: ctl.stderr }).toEqual({ code: 0, err: '' });
        const listed = JSON.parse(ctl.stdout) as { nodes: { nodeId: string }[] };
        expect(listed.nodes.map((n) => n.nodeId)).toContain(nodeId);
      } finally {
        if (child && child.exitCode === null) {
          const exited = new Promise((done) => child?.once('exit', done));
          child.kill('SIGTERM');
          await exited;
        }
        await nc?.close();
        await nats?.stop();
      }
    });

    it('uninstall removes what install added and keeps state, seeds and changed configuration', async () => {
      const r = await uninstall();
      expect({ code: r.code, out: r.out }).toEqual({ code: 0, out: expect.stringContaining('done') });
      for (const gone of [
        'opt/outpost',
        'etc/systemd/system/outpost.target',
        'etc/systemd/system/outpost-edge-node.service',
        'etc/systemd/system/outpost-node-agent.service',
        'etc/systemd/system/outpost.target.wants',
        'etc/systemd/system/multi-user.target.wants/outpost.target',
        'etc/polkit-1/rules.d/50-outpost-update.rules',
        'etc/polkit-1/rules.d/50-outpost-cluster.rules',
        'etc/udev/rules.d/70-outpost-slots.rules',
        'etc/systemd/system/outpost-boot@.service',
        'etc/systemd/system/outpost-update-agent.service.d',
        'etc/systemd/system/systemd-bless-boot.service',
        'etc/tmpfiles.d/outpost.conf',
        'etc/outpost/outpost.json',
        'etc/outpost/cluster.json',
        'etc/outpost/install.env',
        'etc/outpost/nats/nats-server.conf',
        'etc/outpost/nats/provision.env',
        'usr/local/bin/outpostctl',
      ]) {
        expect({ gone, present: await exists(join(root, gone)) }).toEqual({ gone, present: false });
      }
      expect(await readFile(join(root, 'var/lib/outpost/node/identity.json'), 'utf8')).toBe('{"kept":true}');
      expect(await readFile(join(root, 'etc/outpost/telemetry.json'), 'utf8')).toContain('600');
      expect(await exists(join(root, 'etc/outpost/nats/creds/node.nk'))).toBe(true);
      expect(await idOf(root, 'passwd', 'outpost-node')).toEqual(expect.any(Number));
    });

    it('uninstall --purge removes state, configuration, seeds and users as well', async () => {
      const r = await uninstall('--purge');
      expect(r.code).toBe(0);
      for (const gone of ['etc/outpost', 'var/lib/outpost', 'etc/sysusers.d/outpost.conf']) {
        expect({ gone, present: await exists(join(root, gone)) }).toEqual({ gone, present: false });
      }
      expect(await idOf(root, 'passwd', 'outpost-node')).toBeUndefined();
      expect(await idOf(root, 'passwd', 'outpost-edge')).toBeUndefined();
    });
  });
});
