/** The fleet service on a hub member, as its own process (systemd unit outpost-fleet-service.service). */
import { FleetAgent } from '@outpost/agent-fleet';
import { runMain } from '@outpost/agent-runtime';

process.exit(await runMain([FleetAgent]));
