/** Nest wiring of the node agent. */
import { Module } from '@nestjs/common';
import { HeartbeatPublisher } from './handlers/heartbeat.publisher.js';
import { IdentityPublisher } from './handlers/identity.publisher.js';
import { NodeCommandsHandler } from './handlers/node-commands.handler.js';
import { NodeHealthService } from './node-health.service.js';

@Module({
  controllers: [NodeCommandsHandler],
  providers: [NodeHealthService, HeartbeatPublisher, IdentityPublisher],
})
export class NodeModule {}
