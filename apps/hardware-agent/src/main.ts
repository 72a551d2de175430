/** The hardware agent as its own process (systemd unit outpost-hardware-agent.service). */
import { HardwareAgent } from '@outpost/agent-hardware';
import { runMain } from '@outpost/agent-runtime';

process.exit(await runMain([HardwareAgent]));
