/**
 * A whole update through the real edge-node process on the simulator, driven with plain NATS
 * requests: download → install → reboot (the process restarts every agent, as a reboot would) →
 * VERIFYING on the new slot with its tries counting → commit → the new slot is the default.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { SimulatedDevice } from '@outpost/device';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import {
  downloadBody,
  ImageServer,
  makeImage,
  makeKeys,
  manifestFor,
} from '../../libs/agents/update/test/fixtures.js';
import { startApp, type AppProcess } from './app-process.js';

const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;

describe('an update cycle through edge-node', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let dir: string;
  let app: AppProcess;
  const http = new ImageServer();

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectTo(nats);
    await http.start();
    dir = await mkdtemp(join(tmpdir(), 'outpost-cycle-'));
  });

  afterAll(async () => {
    app?.kill('SIGKILL');
    await app?.exited;
    await http.stop();
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('installs into slot b, reboots the simulator, verifies and commits', async () => {
    const keys = makeKeys();
    const image = makeImage(4 * 1024 * 1024);
    app = startApp(
      'edge-node',
      simulatedNodeEnv(dir, nats.url, { OUTPOST_UPDATE_TRUSTED_KEYS: keys.publicBase64 }),
    );
    const nodeId = await eventually(() => {
      const m = /"node":"([0-9a-f]{16})"/.exec(app.output());
      if (!m) throw new Error('no node id yet');
      return m[1];
    });
    const cmd = async (verb: string, body = '{}') =>
      json(await nc.request(`edge.${nodeId}.update.cmd.${verb}`, body, { timeout: 10_000 }));
    const state = async () => String(((await cmd('status')) as { state?: string }).state);
    await eventually(async () => expect(await state()).toBe('UPDATE_STATE_IDLE'));
    const instanceBefore = await eventually(async () => {
      const described = json(await nc.request(`edge.${nodeId}.node.cmd.describe`, '{}', { timeout: 5000 }));
      const node = (described.agents as { agent: string; instanceId: string }[]).find(
        (a) => a.agent === 'node',
      );
      if (!node) throw new Error('node agent not listed yet');
      return node.instanceId;
    });

    const manifest = manifestFor(
      '2.0.0',
      http.serve('/os-2.0.0.img.gz', { body: image.gz }),
      image,
      keys.privateKey,
    );
    await cmd('download', downloadBody(manifest));
    await eventually(async () => expect(await state()).toBe('UPDATE_STATE_DOWNLOADED'));
    await cmd('install');
    await eventually(async () => expect(await state()).toBe('UPDATE_STATE_INSTALLED'));
    await cmd('reboot');

    // The process restarted its agents: a new node-agent instance, and the update agent verifying.
    await eventually(async () => expect(await state()).toBe('UPDATE_STATE_VERIFYING'));
    const described = json(await nc.request(`edge.${nodeId}.node.cmd.describe`, '{}', { timeout: 5000 }));
    const node = (described.agents as { agent: string; instanceId: string; state: string }[]).find(
      (a) => a.agent === 'node' && a.state === 'AGENT_STATE_READY',
    );
    expect(node?.instanceId).not.toBe(instanceBefore);
    const device = await SimulatedDevice.open(join(dir, 'device'));
    expect((await device.bootRecord()).slot).toBe('b');
    expect((await device.bootLoader().find('outpost-b.conf'))?.fileName).toBe('outpost-b+2-1.conf');

    await cmd('commit');
    await eventually(async () => expect(await state()).toBe('UPDATE_STATE_COMMITTED'));
    expect((await device.bootLoader().find('outpost-b.conf'))?.fileName).toBe('outpost-b.conf');
    expect(await device.bootLoader().defaultPattern()).toBe('outpost-b.conf');
    expect(app.child.exitCode).toBeNull();
  });
});
