/**
 * Install-time JetStream provisioning as the admin user: the event stream and the KV buckets. Agents
 * only bind to them (they hold no create rights), so this runs once per install or upgrade.
 */
import { connect } from '@nats-io/transport-node';
import { nkeyAuthenticator } from '@nats-io/nats-core';
import { provisionJetStream, type JetStreamLimits } from '@outpost/bus';
import { readSeedFile } from './seeds.js';

export async function provisionAsAdmin(
  url: string,
  seedFile: string,
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
    await provisionJetStream(nc, limits);
  } finally {
    await nc.close();
  }
}
