/** Nest wiring of the cluster agent: the reconciler, its KV watcher, commands and the real provider. */
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { AGENT_CONTEXT, AGENT_SETTINGS, type AgentContext, type SettingsOf } from '@outpost/agent-runtime';
import { ClusterReconciler } from './cluster-reconciler.service.js';
import type { clusterSettings } from './config/cluster.settings.js';
import { distributionsFrom } from './config/distributions.config.js';
import { CLUSTER_PROVIDER } from './domain/cluster-provider.js';
import { ClusterCommandsHandler } from './handlers/cluster-commands.handler.js';
import { DesiredStateWatcher } from './handlers/desired-state.watcher.js';
import { ExecFileClusterProvider } from './handlers/exec-cluster.provider.js';

@Module({
  controllers: [ClusterCommandsHandler],
  providers: [
    {
      provide: CLUSTER_PROVIDER,
      inject: [AGENT_CONTEXT, AGENT_SETTINGS],
      useFactory: (ctx: AgentContext, settings: SettingsOf<typeof clusterSettings>) =>
        new ExecFileClusterProvider({
          distributions: distributionsFrom(settings),
          secretsDir: settings.secretsDir,
          nodeId: ctx.nodeId,
          requestDir: join(ctx.paths.stateDir, 'cluster'),
          operationTimeoutMs: settings.operationTimeoutMs,
          probeTimeoutMs: settings.probeTimeoutMs,
        }),
    },
    ClusterReconciler,
    DesiredStateWatcher,
  ],
})
export class ClusterModule {}
