/** The platform-update agent as its own process (systemd unit outpost-update-agent.service). */
import { UpdateAgent } from '@outpost/agent-update';
import { runMain } from '@outpost/agent-runtime';

process.exit(await runMain([UpdateAgent]));
