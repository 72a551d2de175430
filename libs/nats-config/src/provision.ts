/**
 * Install-time JetStream provisioning as the admin user: the event stream, the KV buckets, the streams
 * agents write into (the observability agent's offline buffers) and the durable consumers of their KV
 * watches, each with a fixed configuration (@outpost/bus provisionJetStream). Agents only bind, publish,
 * fetch, ack and delete (they hold no create or update rights), so this runs once per install or upgrade
 * (outpost-nats-provision.service, on every start of the node's server).
 */
import { connect } from '@nats-io/transport-node';
import { nkeyAuthenticator } from '@nats-io/nats-core';
import { provisionJetStream, type JetStreamLimits } from '@outpost/bus';
import { readSeedFile } from './seeds.js';

export async function provisionAsAdmin(
  url: string,
  seedFile: string,
  nodeId: string,
  limits: JetStreamLimits = {},
): Promise<void> {
  const seed = await readSeedFile(seedFile);
  const nc = await connect({
    servers: url,
    name: 'outpost-provision',
    authenticator: nkeyAuthenticator(seed),
    // A server that has just started on a busy machine (or a small board at boot) may answer slowly.
    timeout: 60_000,
  });
  try {
    await provisionJetStream(nc, { ...limits, nodeId });
  } finally {
    await nc.close();
  }
}
