/**
 * The hardware agent on a real nats-server with the simulated device, driven by plain NATS clients:
 * the inventory served and kept in KV, a hardware change (an edited inventory.json) giving exactly
 * one evt.inventory with the right diff, an unchanged rescan giving none, a restart that finds the
 * same hardware staying silent, and typed errors for bad requests.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { KV_STATUS } from '@outpost/contracts';
import { JsonLogger, startSuite, type RunningSuite } from '@outpost/agent-runtime';
import {
  connectTo,
  eventually,
  simulatedNodeEnv,
  startNatsServer,
  type NatsServerHandle,
} from '@outpost/testing';
import { must } from '../fixtures/load-fixture.js';
import type { RawFacts } from './domain/raw-facts.js';
import { HardwareAgent } from './hardware.agent.js';

const json = (m: Msg) => JSON.parse(new TextDecoder().decode(m.data));

interface Change {
  kind: string;
  key: string;
  change: string;
  fields: { field: string; before: string; after: string }[];
}

describe('hardware agent on a real bus (simulated device)', () => {
  let nats: NatsServerHandle;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let suite: RunningSuite | undefined;
  let nc: NatsConnection;
  let nodeId: string;
  let eventsSub: Subscription;
  const events: Record<string, unknown>[] = [];
  const factsFile = () => join(dir, 'device', 'hardware', 'inventory.json');
  const request = async (verb: string, body = '{}') =>
    nc.request(`edge.${nodeId}.hardware.cmd.${verb}`, body, { timeout: 5000 });

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'outpost-hardware-'));
    env = simulatedNodeEnv(dir, nats.url, {
      OUTPOST_STATUS_INTERVAL_MS: '200',
      OUTPOST_HARDWARE_SCAN_INTERVAL_MS: '3600000',
    });
    nc = await connectTo(nats);
    eventsSub = nc.subscribe('edge.*.hardware.evt.inventory', {
      callback: (_e, m) => void events.push(json(m)),
    });
    await nc.flush();
    suite = await startSuite([HardwareAgent], {
      env,
      logger: new JsonLogger({ agent: 'hardware' }, 'error'),
    });
    nodeId = suite.nodeId;
  });

  afterAll(async () => {
    await suite?.stop('test done');
    eventsSub?.unsubscribe();
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a default simulated machine and records it with one event, every component ADDED', async () => {
    const facts = JSON.parse(await readFile(factsFile(), 'utf8')) as RawFacts;
    expect(facts.dmi?.['product_name']).toBeDefined();
    await eventually(() => expect(events).toHaveLength(1));
    const first = events[0] as { previousHash: string; hash: string; trigger: string; changes: Change[] };
    expect(first).toMatchObject({ previousHash: '', trigger: 'start', nodeId });
    expect(first.changes.every((c) => c.change === 'CHANGE_TYPE_ADDED')).toBe(true);
    expect(first.changes.map((c) => `${c.kind}:${c.key}`)).toEqual(
      expect.arrayContaining([
        'COMPONENT_KIND_DISK:nvme0n1',
        'COMPONENT_KIND_NIC:enp1s0',
        'COMPONENT_KIND_USB:1-3',
      ]),
    );
  });

  it('answers cmd.inventory with the normalized inventory, and keeps it in KV', async () => {
    const inv = json(await request('inventory'));
    expect(inv).toMatchObject({
      nodeId,
      system: { vendor: 'OnLogic', product: 'CL250' },
      cpu: { vendor: 'GenuineIntel', sockets: 1, cores: 4, threads: 4 },
      os: { id: 'debian', versionId: '12' },
    });
    expect(inv.disks).toEqual([expect.objectContaining({ name: 'nvme0n1', sizeBytes: '256060514304' })]);
    expect(inv.nics.map((n: { name: string }) => n.name)).toEqual(['enp1s0', 'enp2s0']);
    expect(inv.hash).toMatch(/^[0-9a-f]{64}$/);
    const kv = await new Kvm(nc).open(KV_STATUS);
    await eventually(async () => {
      const entry = await kv.get(`${nodeId}.hardware.inventory`);
      expect(entry?.json<{ hash: string }>().hash).toBe(inv.hash);
    });
  });

  it('is READY after the first scan', async () => {
    await eventually(async () => {
      const kv = await new Kvm(nc).open(KV_STATUS);
      const entry = await kv.get(`${nodeId}.hardware`);
      expect(entry?.json<{ state: string }>().state).toBe('AGENT_STATE_READY');
    });
  });

  it('publishes exactly one event with the diff when the hardware changed, and none on a rescan without change', async () => {
    const before = json(await request('inventory'));
    const facts = JSON.parse(await readFile(factsFile(), 'utf8')) as RawFacts;
    must(facts.usb).push({
      name: '1-4',
      busnum: '1\n',
      devnum: '5\n',
      idVendor: '10c4\n',
      idProduct: 'ea60\n',
      bDeviceClass: '00\n',
      product: 'CP2102 USB to UART Bridge Controller\n',
    });
    must(must(facts.nets).find((n) => n.name === 'enp2s0')).operstate = 'up\n';
    await writeFile(factsFile(), JSON.stringify(facts));
    const count = events.length;

    const reply = json(await request('rescan'));
    expect(reply).toMatchObject({ changed: true, previousHash: before.hash });
    expect(reply.hash).not.toBe(before.hash);
    await eventually(() => expect(events.length).toBe(count + 1));
    const event = events[count] as { hash: string; previousHash: string; trigger: string; changes: Change[] };
    expect(event).toMatchObject({ hash: reply.hash, previousHash: before.hash, trigger: 'rescan' });
    expect(event.changes).toEqual([
      {
        kind: 'COMPONENT_KIND_NIC',
        key: 'enp2s0',
        change: 'CHANGE_TYPE_CHANGED',
        fields: [{ field: 'linkState', before: '2', after: '1' }],
      },
      { kind: 'COMPONENT_KIND_USB', key: '1-5', change: 'CHANGE_TYPE_ADDED', fields: [] },
    ]);

    const again = json(await request('rescan'));
    expect(again).toMatchObject({ changed: false, hash: reply.hash, previousHash: reply.hash, changes: [] });
    // The event of a change is published before the rescan is answered, so none can still be on its way.
    await nc.flush();
    expect(events.length).toBe(count + 1);
    expect(json(await request('inventory')).hash).toBe(reply.hash);
  });

  it('stays silent after a restart that finds the same hardware (the last inventory is persisted)', async () => {
    await suite?.stop('restart');
    suite = undefined;
    const count = events.length;
    suite = await startSuite([HardwareAgent], {
      env,
      logger: new JsonLogger({ agent: 'hardware' }, 'error'),
    });
    const reply = json(await request('rescan'));
    expect(reply.changed).toBe(false);
    await nc.flush();
    expect(events.length).toBe(count);
  });

  it.each([
    ['not JSON', '{"x":', '400', 'ERROR_CODE_BAD_REQUEST'],
    ['an unknown field', '{"force":true}', '400', 'ERROR_CODE_BAD_REQUEST'],
    ['an array', '[]', '400', 'ERROR_CODE_BAD_REQUEST'],
  ])('answers a rescan with %s with a typed error and keeps serving', async (_what, body, header, code) => {
    const bad = await request('rescan', body);
    expect(bad.headers?.get('Nats-Service-Error-Code')).toBe(header);
    expect(json(bad).code).toBe(code);
    expect(json(await request('inventory')).nodeId).toBe(nodeId);
  });

  it('reports a corrupt simulated inventory as DEGRADED with a typed error on rescan', async () => {
    const good = await readFile(factsFile(), 'utf8');
    await writeFile(factsFile(), '{ not json');
    const bad = await request('rescan');
    expect(bad.headers?.get('Nats-Service-Error-Code')).toBe('500');
    const kv = await new Kvm(nc).open(KV_STATUS);
    await eventually(async () => {
      const entry = await kv.get(`${nodeId}.hardware`);
      expect(entry?.json<{ state: string; reasons: string[] }>()).toMatchObject({
        state: 'AGENT_STATE_DEGRADED',
        reasons: [expect.stringMatching(/hardware scan failed/)],
      });
    });
    await writeFile(factsFile(), good);
    expect(json(await request('rescan')).changed).toBe(false);
    await eventually(async () => {
      const entry = await kv.get(`${nodeId}.hardware`);
      expect(entry?.json<{ state: string }>().state).toBe('AGENT_STATE_READY');
    });
  });
});
