/**
 * Every agent in one process over one NATS connection: for small devices (outpost-edge-node.service)
 * and for `npm start`. Each agent keeps its own Nest app, queue group, micro service and status.
 */
import { NodeAgent } from '@outpost/agent-node';
import { runMain, type RunningSuite } from '@outpost/agent-runtime';
import { inspectHelp } from './inspect-help.js';

const agents = [NodeAgent];

// All-in-one: the node is healthy when every agent of this process is READY (unless configured).
process.env.OUTPOST_NODE_REQUIRED_AGENTS ??= agents.map((a) => a.agent).join(',');

process.exit(
  await runMain(agents, {
    name: 'edge-node',
    onStarted: (suite: RunningSuite) => {
      if (process.env.OUTPOST_BANNER === '1')
        process.stderr.write(inspectHelp(suite.nodeId, suite.common.natsUrl));
    },
  }),
);
