// Baseline responder for `npm run bench`: plain @nats-io/transport-node, no Nest, doing the same work
// the agent does per request — strict decode of the request and proto3 JSON encode of the reply with
// the shared contracts — so the ratio measures the transport (Nest, the Outpost server, micro
// stats, trace context) and nothing else.
import { connect } from '@nats-io/transport-node';
import { decode, decodeJsonText, encode, HealthRequestSchema, NodeHealthSchema } from '@outpost/contracts';

const [url, subject, reply] = process.argv.slice(2);
const nc = await connect({ servers: url, name: 'bench-raw' });
const health = decodeJsonText(NodeHealthSchema, reply);
nc.subscribe(subject, {
  queue: 'bench',
  callback: (_err, msg) => {
    decode(HealthRequestSchema, msg.data);
    msg.respond(encode(NodeHealthSchema, health));
  },
});
await nc.flush();
process.stdout.write('READY\n');
process.on('SIGTERM', () => void nc.drain().then(() => process.exit(0)));
