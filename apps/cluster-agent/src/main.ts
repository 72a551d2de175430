/** The cluster agent as its own process (systemd unit outpost-cluster-agent.service). */
import { ClusterAgent } from '@outpost/agent-cluster';
import { runMain } from '@outpost/agent-runtime';

process.exit(await runMain([ClusterAgent]));
