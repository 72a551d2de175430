/**
 * Watches KV edge_desired <nodeId>.cluster and hands each value, decoded strictly and validated, to the
 * reconciler. A deleted key is not an order to uninstall (removing a cluster takes an explicit
 * PRESENCE_ABSENT): the last desired state stays.
 */
import type { LoggerService } from '@nestjs/common';
import {
  ClusterDesiredSchema,
  ContractError,
  decode,
  kvKeys,
  KV_DESIRED,
  type ClusterDesired,
} from '@outpost/contracts';
import type { KeyEntry } from '@outpost/bus';
import { keyWatcher } from '@outpost/agent-runtime';
import { CLUSTER_PROVIDER, type ClusterProvider } from '../domain/cluster-provider.js';
import { validateDesired } from '../domain/desired-validation.js';
import { ClusterReconciler } from '../cluster-reconciler.service.js';

const LOG = 'Desired';

export const DesiredStateWatcher = keyWatcher<[ClusterProvider, ClusterReconciler]>({
  provide: 'DesiredStateWatcher',
  log: LOG,
  inject: [CLUSTER_PROVIDER, ClusterReconciler],
  keys: ({ ctx, logger }, provider, reconciler) => [
    {
      bucket: KV_DESIRED,
      key: kvKeys.desired(ctx.nodeId, 'cluster'),
      onEntry: (entry) => receive(provider, reconciler, logger, entry),
    },
  ],
});

function receive(
  provider: ClusterProvider,
  reconciler: ClusterReconciler,
  logger: LoggerService,
  entry: KeyEntry,
): void {
  if (entry.operation !== 'PUT') {
    logger.warn(
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
    reconciler.rejectDesired(`undecodable: ${reason}`, entry.revision);
    return;
  }
  const result = validateDesired(msg, provider.offered());
  if (result.ok) reconciler.acceptDesired(result.desired, entry.revision);
  else reconciler.rejectDesired(result.reason, entry.revision);
}
