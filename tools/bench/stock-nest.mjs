// The footprint baseline of `npm run bench`: a stock Nest NATS microservice, as the Nest docs make one.
// Nest's own NATS transport (Transport.NATS over @nats-io/transport-node), one @MessagePattern handler,
// nothing of Outpost. It prints LISTENING once app.listen() has resolved.
//   node tools/bench/stock-nest.mjs <nats url> <subject>
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Transport } from '@nestjs/microservices';

const [url, subject] = process.argv.slice(2);

// Plain JS has no decorator syntax: apply the decorators by hand, as TypeScript would.
class PingController {
  ping(data) {
    return { pong: data ?? null };
  }
}
const method = Object.getOwnPropertyDescriptor(PingController.prototype, 'ping');
MessagePattern(subject)(PingController.prototype, 'ping', method);
Controller()(PingController);
class AppModule {}
Module({ controllers: [PingController] })(AppModule);

const app = await NestFactory.createMicroservice(AppModule, {
  transport: Transport.NATS,
  options: { servers: [url] },
  logger: false,
});
await app.listen();
process.stdout.write('LISTENING\n');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
