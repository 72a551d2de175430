// The Outpost side of the transport bench: a Nest microservice with the Outpost transport strategy and
// one @Command handler that returns the same NodeHealth the raw responder sends, so the two differ only
// in the transport (Nest's handler pipeline, the Outpost server, micro stats, trace context).
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect } from '@nats-io/transport-node';
import { BusExceptionFilter, Command, OutpostNatsServer } from '@outpost/bus';
import { decodeJsonText, NodeApi, NodeHealthSchema } from '@outpost/contracts';

const [url, nodeId, reply] = process.argv.slice(2);
const health = decodeJsonText(NodeHealthSchema, reply);

// Plain JS has no decorator syntax: apply the same decorators by hand.
class BenchHandlers {
  health() {
    return health;
  }
}
const method = Object.getOwnPropertyDescriptor(BenchHandlers.prototype, 'health');
Command(NodeApi.cmd.health)(BenchHandlers.prototype, 'health', method);
Controller()(BenchHandlers);
class BenchModule {}
Module({ controllers: [BenchHandlers] })(BenchModule);

const quiet = { log() {}, warn() {}, error() {}, debug() {}, verbose() {} };
const nc = await connect({ servers: url, name: 'bench-nest' });
const server = new OutpostNatsServer({
  connection: nc,
  nodeId,
  agent: 'node',
  version: '0.1.0',
  logger: quiet,
});
const app = await NestFactory.createMicroservice(BenchModule, { strategy: server, logger: false });
app.useGlobalFilters(new BusExceptionFilter());
await app.listen();
await nc.flush();
process.stdout.write('READY\n');
process.on(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => nc.drain())
      .then(() => process.exit(0)),
);
