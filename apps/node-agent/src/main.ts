/** The node agent as its own process (systemd unit outpost-node-agent.service). */
import { NodeAgent } from '@outpost/agent-node';
import { runMain } from '@outpost/agent-runtime';

process.exit(await runMain([NodeAgent]));
