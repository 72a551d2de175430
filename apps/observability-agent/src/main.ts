/** The observability agent as its own process (systemd unit outpost-observability-agent.service). */
import { ObservabilityAgent } from '@outpost/agent-observability';
import { runMain } from '@outpost/agent-runtime';

process.exit(await runMain([ObservabilityAgent]));
