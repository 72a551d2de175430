/** Nest wiring of the enrolment service. */
import { Module } from '@nestjs/common';
import { EnrolmentCommandsHandler } from './handlers/enrolment-commands.handler.js';
import { EnrolmentService } from './enrolment.service.js';

@Module({
  controllers: [EnrolmentCommandsHandler],
  providers: [EnrolmentService],
})
export class EnrolmentModule {}
