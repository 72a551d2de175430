/** Nest wiring of the cluster agent. */
import { Module } from '@nestjs/common';

@Module({})
export class ClusterModule {}
