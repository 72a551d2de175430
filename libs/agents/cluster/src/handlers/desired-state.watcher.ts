/**
 * Watches KV edge_desired <nodeId>.cluster (one key: the 2.9 server cannot watch a key list) and hands
 * each value, decoded strictly and validated, to the reconciler. A deleted key is not an order to
 * uninstall (removing a cluster takes an explicit PRESENCE_ABSENT): the last desired state stays.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  ClusterDesiredSchema,
  ContractError,
  decode,
  kvKeys,
  KV_DESIRED,
  type ClusterDesired,
} from '@outpost/contracts';
import { watchKey, type BusStores, type KeyEntry, type KeyWatch } from '@outpost/bus';
import { AGENT_CONTEXT, AGENT_LOGGER, BUS_STORES, type AgentContext } from '@outpost/agent-runtime';
import { CLUSTER_PROVIDER, type ClusterProvider } from '../domain/cluster-provider.js';
import { validateDesired } from '../domain/desired-validation.js';
import { ClusterReconciler } from '../cluster-reconciler.service.js';

const LOG = 'Desired';

@Injectable()
export class DesiredStateWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private watch?: KeyWatch;

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    @Inject(CLUSTER_PROVIDER) private readonly provider: ClusterProvider,
    private readonly reconciler: ClusterReconciler,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {}

  onApplicationBootstrap(): void {
    const key = kvKeys.desired(this.ctx.nodeId, 'cluster');
    this.watch = watchKey(
      this.stores,
      { bucket: KV_DESIRED, key, nodeId: this.ctx.nodeId, agent: this.ctx.agent },
      (entry) => this.receive(entry),
      {
        onError: (err) => this.logger.warn(`watch of ${key} failed: ${String(err)}`, LOG),
      },
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.watch?.stop();
  }

  private receive(entry: KeyEntry): void {
    if (entry.operation !== 'PUT') {
      this.logger.warn(
        `desired state ${entry.operation === 'DEL' ? 'deleted' : 'purged'} (revision ${entry.revision}); ` +
          'keeping the last one (write PRESENCE_ABSENT to remove the cluster)',
        LOG,
      );
      return;
    }
    let msg: ClusterDesired;
    try {
      msg = decode(ClusterDesiredSchema, entry.value);
    } catch (err) {
      const reason = err instanceof ContractError ? err.message : String(err);
      this.reconciler.rejectDesired(`undecodable: ${reason}`, entry.revision);
      return;
    }
    const result = validateDesired(msg, this.provider.offered());
    if (result.ok) this.reconciler.acceptDesired(result.desired, entry.revision);
    else this.reconciler.rejectDesired(result.reason, entry.revision);
  }
}
