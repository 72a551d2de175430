/** The telemetry agent as its own process (systemd unit outpost-telemetry-agent.service). */
import { TelemetryAgent } from '@outpost/agent-telemetry';
import { runMain } from '@outpost/agent-runtime';

process.exit(await runMain([TelemetryAgent]));
