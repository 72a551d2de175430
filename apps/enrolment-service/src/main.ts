/** The hub's enrolment service as its own process (systemd unit outpost-enrolment-service.service, on a hub member). */
import { EnrolmentAgent } from '@outpost/agent-enrolment';
import { runMain } from '@outpost/agent-runtime';

process.exit(await runMain([EnrolmentAgent]));
