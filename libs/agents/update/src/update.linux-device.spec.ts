/**
 * The update agent on a LinuxDevice (this machine, which boots no A/B slot: the agent runs degraded and
 * touches nothing): a real node boots the kernel its entry names from the ESP, so an image-only
 * manifest is refused before anything is fetched, with a typed error naming bootFiles.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { JsonLogger, startSuite, type RunningSuite } from '@outpost/agent-runtime';
import { connectTo, simulatedNodeEnv, startNatsServer, type NatsServerHandle } from '@outpost/testing';
import {
  bootFilesFor,
  downloadBody,
  ImageServer,
  makeImage,
  makeKeys,
  manifestFor,
} from '../test/fixtures.js';
import { UpdateAgent } from './update.agent.js';

describe('update agent on a LinuxDevice', () => {
  let nats: NatsServerHandle;
  let dir: string;
  let suite: RunningSuite;
  let nc: NatsConnection;
  const http = new ImageServer();
  const keys = makeKeys();

  beforeAll(async () => {
    nats = await startNatsServer();
    await http.start();
    dir = await mkdtemp(join(tmpdir(), 'outpost-update-linux-'));
    const env = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_DEVICE: 'linux',
      OUTPOST_UPDATE_TRUSTED_KEYS: keys.publicBase64,
    });
    suite = await startSuite([UpdateAgent], { env, logger: new JsonLogger({ agent: 'update' }, 'error') });
    nc = await connectTo(nats);
  });

  afterAll(async () => {
    await suite?.stop('test done');
    await nc?.close();
    await nats?.stop();
    await http.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const download = async (body: string) => {
    const msg = await nc.request(`edge.${suite.nodeId}.update.cmd.download`, body, { timeout: 10_000 });
    return {
      code: msg.headers?.get('Nats-Service-Error-Code'),
      body: JSON.parse(new TextDecoder().decode(msg.data)) as Record<string, unknown>,
    };
  };

  it('refuses a manifest without boot files (422, naming bootFiles) before a byte is fetched', async () => {
    const image = makeImage(64 * 1024);
    const manifest = manifestFor('2.0.0', http.serve('/os.img', { body: image.raw }), image, keys.privateKey);
    const reply = await download(downloadBody(manifest));
    expect(reply.code).toBe('422');
    expect(reply.body).toMatchObject({ code: 'ERROR_CODE_INVALID_ARGUMENT' });
    expect(String(reply.body.message)).toMatch(/bootFiles: required on this node/);
    expect(http.requestsFor('/os.img')).toEqual([]);
  });

  it('takes a manifest with a kernel past that check (to the signature check, here a stranger key)', async () => {
    const image = makeImage(64 * 1024);
    const kernel = makeImage(1024);
    const stranger = makeKeys();
    const manifest = manifestFor(
      '2.0.1',
      http.serve('/os2.img', { body: image.raw }),
      image,
      stranger.privateKey,
      {
        bootFiles: bootFilesFor({ url: 'vmlinuz', file: kernel }),
      },
    );
    const reply = await download(downloadBody(manifest));
    expect(reply.code).toBe('403');
    expect(String(reply.body.message)).toMatch(/manifest refused/);
    expect(http.requestsFor('/os2.img')).toEqual([]);
    expect(http.requestsFor('/vmlinuz')).toEqual([]);
  });
});
