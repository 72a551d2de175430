// `npm start`: builds, then runs every agent in one process (apps/edge-node, packed as it ships, with the
// units' Node flags) on a simulated device in OUTPOST_HOME (default ./.outpost), against NATS_URL if
// given, else a nats-server it starts itself on a free loopback port with its JetStream store in
// OUTPOST_HOME. Ctrl-C drains the suite and stops both.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { ensureNatsServer } from './ensure-system-tools.mjs';
import { NODE_FLAGS, shippedMain, unitEnv } from './shipped.mjs';

const root = resolve(new URL('../..', import.meta.url).pathname);
const home = resolve(process.env.OUTPOST_HOME || join(root, '.outpost'));
const children = new Set();

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function waitForPort(port, ms = 60_000) {
  const { connect } = await import('node:net');
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise((done) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), done(true)));
      s.once('error', () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nats-server did not listen on ${port} within ${ms} ms`);
}

async function startNats() {
  const bin = ensureNatsServer();
  const port = Number(process.env.OUTPOST_NATS_PORT) || (await freePort());
  const store = join(home, 'nats');
  mkdirSync(store, { recursive: true });
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], {
    stdio: ['ignore', 'ignore', 'inherit'],
    // Its own process group: Ctrl-C reaches the suite, which drains while the server is still up.
    detached: true,
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  await waitForPort(port);
  console.error(`outpost: started nats-server ${bin} on 127.0.0.1:${port} (store ${store})`);
  return `nats://127.0.0.1:${port}`;
}

function stopAll(signal = 'SIGTERM') {
  for (const child of children) child.kill(signal);
}

async function main() {
  console.error('outpost: building ...');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  mkdirSync(home, { recursive: true });
  const natsUrl = process.env.NATS_URL || (await startNats());
  const env = {
    ...unitEnv('edge-node', join(home, 'cache')),
    ...process.env,
    NATS_URL: natsUrl,
    OUTPOST_DEVICE: process.env.OUTPOST_DEVICE || 'simulated',
    OUTPOST_SIM_DIR: process.env.OUTPOST_SIM_DIR || join(home, 'device'),
    OUTPOST_STATE_DIR: process.env.OUTPOST_STATE_DIR || join(home, 'state'),
    OUTPOST_CONFIG_DIR: process.env.OUTPOST_CONFIG_DIR || join(home, 'config'),
    OUTPOST_RUN_DIR: process.env.OUTPOST_RUN_DIR || join(home, 'run'),
    OUTPOST_BANNER: '1',
  };
  const suite = spawn(process.execPath, [...NODE_FLAGS, shippedMain(root, 'edge-node')], {
    env,
    stdio: 'inherit',
  });
  children.add(suite);
  let forwarded = false;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      // The suite drains first; the server stops once the suite has gone. Repeats are not forwarded.
      if (!forwarded) suite.kill(sig);
      forwarded = true;
    });
  }
  const code = await new Promise((done) => suite.on('exit', (c, s) => done(c ?? (s ? 1 : 0))));
  children.delete(suite);
  stopAll();
  await Promise.all([...children].map((c) => new Promise((done) => c.once('exit', done))));
  process.exit(code);
}

process.on('exit', () => stopAll('SIGKILL'));

main().catch((err) => {
  console.error(`outpost: ${err.message}`);
  stopAll('SIGKILL');
  process.exit(1);
});
