/** The hub's enrolment service: one-time tokens in, node credentials confined to edge.<node>.> out. */
import { defineAgent } from '@outpost/agent-runtime';
import { enrolmentSettings } from './config/enrolment.settings.js';
import { EnrolmentModule } from './enrolment.module.js';

export const EnrolmentAgent = defineAgent({
  agent: 'enrolment' as const,
  description: 'Outpost enrolment service (hub): one-time enrolment tokens, node credentials, revocation',
  module: EnrolmentModule,
  settings: enrolmentSettings,
});
