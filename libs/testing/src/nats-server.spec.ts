// Exercises startNatsServer()/connectTo() against real servers: isolation from the shared :4222 server,
// core pub/sub, JetStream, restart() with state and reconnects, extra config, and a clean, idempotent stop().
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.js';
import { freePort } from './free-port.js';
import { connectTo, startNatsServer, type NatsServerHandle } from './nats-server.js';

const text = (s: string) => new TextEncoder().encode(s);
const decode = (data: Uint8Array) => new TextDecoder().decode(data);

/** True when a TCP connection to the loopback port succeeds. */
function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Resolves with the next status event of the given type. */
async function nextStatus(nc: NatsConnection, type: string): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === type) return;
  }
  throw new Error(`connection closed before a "${type}" status`);
}

describe('startNatsServer', () => {
  let server: NatsServerHandle;
  const connections: NatsConnection[] = [];
  const open = async (...args: Parameters<typeof connectTo>) => {
    const nc = await connectTo(...args);
    connections.push(nc);
    return nc;
  };

  beforeAll(async () => {
    server = await startNatsServer();
  });

  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await server?.stop();
  });

  it('runs on its own port, never the shared 4222', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.port).not.toBe(4222);
    expect(server.url).toBe(`nats://${new URL(server.url).hostname}:${server.port}`);
    expect(server.url).not.toContain(':4222');
  });

  it('carries core pub/sub', async () => {
    const nc = await open(server);
    expect(nc.info?.port).toBeDefined();
    const sub = nc.subscribe('outpost.test.hello', { max: 1 });
    nc.publish('outpost.test.hello', text('hi'));
    const received: string[] = [];
    for await (const msg of sub) received.push(decode(msg.data));
    expect(received).toEqual(['hi']);
  });

  it('has JetStream, and restart() keeps streams and lets reconnecting clients carry on', async () => {
    const nc = await open(server);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'OUTPOST_TEST', subjects: ['outpost.test.js.>'] });
    const ack = await jetstream(nc).publish('outpost.test.js.one', text('persisted'));
    expect(ack.stream).toBe('OUTPOST_TEST');
    expect(ack.seq).toBe(1);

    const sub = nc.subscribe('outpost.test.after-restart', { max: 1 });
    const reconnected = nextStatus(nc, 'reconnect');
    await server.restart();
    await reconnected;

    // The subscription is re-established on reconnect; a flush makes sure the server has it.
    await nc.flush();
    nc.publish('outpost.test.after-restart', text('again'));
    const received: string[] = [];
    for await (const msg of sub) received.push(decode(msg.data));
    expect(received).toEqual(['again']);

    const info = await jsm.streams.info('OUTPOST_TEST');
    expect(info.state.messages).toBe(1);
    const stored = await jsm.streams.getMessage('OUTPOST_TEST', { seq: 1 });
    expect(stored && decode(stored.data)).toBe('persisted');
  });

  it('restart(whileDown) stays down until whileDown resolves', async () => {
    let release!: () => void;
    const outage = new Promise<void>((resolve) => (release = resolve));
    let down = false;
    const restarted = server.restart(() => {
      down = true;
      return outage;
    });
    await eventually(() => expect(down).toBe(true));
    expect(await acceptsTcp(server.port)).toBe(false);
    release();
    await restarted;
    expect(await acceptsTcp(server.port)).toBe(true);
  });
});

describe('startNatsServer options', () => {
  it('passes configText to the server', async () => {
    const server = await startNatsServer({ configText: 'max_payload: 4096\n' });
    try {
      const nc = await connectTo(server);
      try {
        expect(nc.info?.max_payload).toBe(4096);
      } finally {
        await nc.close();
      }
    } finally {
      await server.stop();
    }
  });

  it('builds configText from the store directory, keeps its JetStream domain and passes extra args', async () => {
    const leafPort = await freePort();
    let seenStore = '';
    const server = await startNatsServer({
      configText: (storeDir) => {
        seenStore = storeDir;
        return `jetstream { domain: edge7 }\nleafnodes { listen: "127.0.0.1:${leafPort}" }\n`;
      },
      args: ['--server_name', 'fleet-test-1'],
    });
    try {
      expect(seenStore).toBe(server.storeDir);
      expect(await acceptsTcp(leafPort)).toBe(true);
      const nc = await connectTo(server);
      try {
        expect(nc.info?.server_name).toBe('fleet-test-1');
        expect((await (await jetstreamManager(nc)).getAccountInfo()).domain).toBe('edge7');
      } finally {
        await nc.close();
      }
    } finally {
      await server.stop();
    }
  });

  it('runs a configuration file as it is, with its JetStream store; the harness port wins', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-conf-'));
    const file = join(dir, 'server.conf');
    await writeFile(
      file,
      `port: 1\nmax_payload: 8192\njetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\n` +
        'authorization { users: [ { user: "a", password: "b" } ] }\n',
    );
    await expect(startNatsServer({ configFile: file, configText: '' })).rejects.toThrow(/not both/);
    const server = await startNatsServer({ configFile: file });
    try {
      expect(server.port).not.toBe(1);
      await expect(connectTo(server, { maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization/i);
      const nc = await connectTo(server, { user: 'a', pass: 'b' });
      try {
        expect(nc.info?.max_payload).toBe(8192);
        await jetstreamManager(nc); // JetStream comes from the file
        expect(existsSync(join(dir, 'js', 'jetstream'))).toBe(true);
      } finally {
        await nc.close();
      }
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('can run without JetStream', async () => {
    const server = await startNatsServer({ jetstream: false });
    try {
      const nc = await connectTo(server);
      try {
        await expect(jetstreamManager(nc)).rejects.toThrow();
      } finally {
        await nc.close();
      }
    } finally {
      await server.stop();
    }
  });
});

describe('stop()', () => {
  it('is idempotent, closes the port and removes a local store', async () => {
    const server = await startNatsServer();
    const localStore = existsSync(server.storeDir);
    expect(await acceptsTcp(server.port)).toBe(true);

    await Promise.all([server.stop(), server.stop()]);
    await server.stop();

    expect(await acceptsTcp(server.port)).toBe(false);
    if (localStore) expect(existsSync(server.storeDir)).toBe(false);
    await expect(server.restart()).rejects.toThrow(/stopped/);
  });
});
