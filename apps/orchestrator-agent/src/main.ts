/** The update orchestrator as its own process (systemd unit outpost-orchestrator-agent.service). */
import { OrchestratorAgent } from '@outpost/agent-orchestrator';
import { runMain } from '@outpost/agent-runtime';

process.exit(await runMain([OrchestratorAgent]));
