/**
 * Issue scenario 6, on the real edge-node process (every agent): the NATS server restarts in the
 * middle of a run, and the process is killed with SIGKILL while the orchestrator is VERIFYING. The
 * restarted process resumes the trial from its persisted state and the run still ends COMMITTED.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toJson } from '@bufbuild/protobuf';
import { Kvm } from '@nats-io/kv';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { KV_DESIRED, UpdateManifestSchema } from '@outpost/contracts';
import { SimulatedDevice } from '@outpost/device';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { ImageServer, makeImage, makeKeys, manifestFor } from '../../libs/agents/update/test/fixtures.js';
import { startApp, type AppProcess } from './app-process.js';

const MINUTE = 60_000;
const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
const localUtc = (ms: number) => new Date(ms).toISOString().slice(0, 16);

describe('an orchestrated update survives a NATS restart and a kill -9 during VERIFYING', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let dir: string;
  let app: AppProcess | undefined;
  const http = new ImageServer();

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectTo(nats, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    await http.start();
    dir = await mkdtemp(join(tmpdir(), 'outpost-orch-crash-'));
  });

  afterAll(async () => {
    app?.kill('SIGKILL');
    await app?.exited;
    await http.stop();
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('ends COMMITTED on slot b', async () => {
    const keys = makeKeys();
    const image = makeImage(4 * 1024 * 1024);
    const env = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_NODE_ID: 'crashy',
      OUTPOST_UPDATE_TRUSTED_KEYS: keys.publicBase64,
      OUTPOST_ORCHESTRATOR_JITTER_PERCENT: '0',
      OUTPOST_ORCHESTRATOR_EXPECTED_UPDATE_MINUTES: '30',
      OUTPOST_ORCHESTRATOR_TRIAL_POLL_MS: '200',
      OUTPOST_ORCHESTRATOR_UPDATE_STATUS_POLL_MS: '200',
    });
    app = startApp('edge-node', env);
    const status = async () => {
      const msg = await nc.request('edge.crashy.orchestrator.cmd.status', '{}', { timeout: 5000 });
      return json(msg) as { state?: string; updateState?: string };
    };
    await eventually(async () => expect((await status()).state).toBe('ORCHESTRATION_STATE_IDLE'));

    // A required check that takes a few seconds keeps the trial in VERIFYING long enough to kill it.
    const desiredKv = await new Kvm(nc).open(KV_DESIRED);
    await desiredKv.put(
      'crashy.update',
      JSON.stringify({
        manifest: toJson(
          UpdateManifestSchema,
          manifestFor('4.0.0', http.serve('/crashy.img', { body: image.raw }), image, keys.privateKey),
        ),
        windows: [
          {
            timeZone: 'UTC',
            single: { start: localUtc(Date.now() - 2 * MINUTE), end: localUtc(Date.now() + 180 * MINUTE) },
          },
        ],
        healthPolicy: {
          deadlineSeconds: 60,
          checks: [{ name: 'slow', command: ['/bin/sleep', '5'], required: true, timeoutSeconds: 20 }],
        },
        retry: 0,
      }),
    );

    // The bus goes away and comes back in the middle of the run.
    await nats.restart();

    await eventually(async () => expect((await status()).state).toBe('ORCHESTRATION_STATE_VERIFYING'));
    app.kill('SIGKILL');
    await app.exited;
    const device = await SimulatedDevice.open(join(dir, 'device'));
    expect((await device.bootRecord()).slot).toBe('b');

    app = startApp('edge-node', env);
    await eventually(async () => expect((await status()).state).toBe('ORCHESTRATION_STATE_COMMITTED'));
    expect((await device.slots()).active.slot).toBe('b');
    expect(await device.bootLoader().defaultPattern()).toBe('outpost-b.conf');
    expect((await device.bootLoader().find('outpost-b.conf'))?.fileName).toBe('outpost-b.conf');
  });
});
