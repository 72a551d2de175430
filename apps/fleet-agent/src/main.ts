/** The fleet agent as its own process (systemd unit outpost-fleet-agent.service). */
import { FleetAgent } from '@outpost/agent-fleet';
import { runMain } from '@outpost/agent-runtime';

process.exit(await runMain([FleetAgent]));
