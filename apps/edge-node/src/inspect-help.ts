/** The "how to look inside" text `npm start` prints once the suite runs. */
export function inspectHelp(nodeId: string, natsUrl: string): string {
  const s = `--server ${natsUrl}`;
  return `
Outpost is running: node ${nodeId}, NATS ${natsUrl}
Inspect it with the nats CLI (Debian package natscli, or https://github.com/nats-io/natscli):
  nats ${s} micro ls
  nats ${s} micro stats outpost-node
  nats ${s} req edge.${nodeId}.node.cmd.describe '{}'
  nats ${s} req edge.${nodeId}.node.cmd.health '{}'
  nats ${s} sub 'edge.${nodeId}.>'
  nats ${s} kv get edge_status ${nodeId}.node.health
  nats ${s} stream view EDGE_EVENTS
Stop with Ctrl-C (SIGINT drains and exits).
`;
}
