/**
 * Every agent in one process over one NATS connection: for small devices (outpost-edge-node.service)
 * and for `npm start`. Each agent keeps its own Nest app, queue group, micro service and status.
 */
import { ClusterAgent } from '@outpost/agent-cluster';
import { HardwareAgent } from '@outpost/agent-hardware';
import { NodeAgent } from '@outpost/agent-node';
import { ObservabilityAgent } from '@outpost/agent-observability';
import { OrchestratorAgent } from '@outpost/agent-orchestrator';
import { TelemetryAgent } from '@outpost/agent-telemetry';
import { runMain, type RunningSuite } from '@outpost/agent-runtime';
import { UpdateAgent } from '@outpost/agent-update';
import { inspectHelp } from './inspect-help.js';

const agents = [
  NodeAgent,
  HardwareAgent,
  ClusterAgent,
  UpdateAgent,
  OrchestratorAgent,
  TelemetryAgent,
  ObservabilityAgent,
];

const env: NodeJS.ProcessEnv = {
  // All-in-one: the node is healthy when every agent of this process is READY, unless configured.
  OUTPOST_NODE_REQUIRED_AGENTS: agents.map((a) => a.agent).join(','),
  ...process.env,
};

process.exit(
  await runMain(agents, {
    name: 'edge-node',
    env,
    onStarted: (suite: RunningSuite) => {
      // OUTPOST_BANNER=1 (set by `npm start`): a human is watching, tell them how to look inside.
      if (env.OUTPOST_BANNER === '1') process.stderr.write(inspectHelp(suite.nodeId, suite.common.natsUrl));
    },
  }),
);
