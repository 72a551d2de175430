/** The "how to look inside" text `npm start` prints once the suite runs; every name from the catalog. */
import { EVENT_STREAM, KV_STATUS, kvKeys, NodeApi, wildcards } from '@outpost/contracts';

export function inspectHelp(nodeId: string, natsUrl: string): string {
  const nats = `nats --server ${natsUrl}`;
  return `
Outpost is running: node ${nodeId}, NATS ${natsUrl}
Inspect it with the nats CLI (Debian package natscli, or https://github.com/nats-io/natscli):
  ${nats} micro ls
  ${nats} micro stats outpost-${NodeApi.agent}
  ${nats} req ${NodeApi.cmd.describe.subject(nodeId)} '{}'
  ${nats} req ${NodeApi.cmd.health.subject(nodeId)} '{}'
  ${nats} sub '${wildcards.node(nodeId)}'
  ${nats} kv get ${KV_STATUS} ${kvKeys.nodeHealth(nodeId)}
  ${nats} stream view ${EVENT_STREAM}
Every agent, command, key and event: docs/nats-cli.md (NODE=${nodeId}).
Stop with Ctrl-C (SIGINT drains and exits).
`;
}
