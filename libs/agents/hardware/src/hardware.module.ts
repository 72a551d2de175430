/** Nest wiring of the hardware agent. */
import { Module } from '@nestjs/common';

@Module({})
export class HardwareModule {}
