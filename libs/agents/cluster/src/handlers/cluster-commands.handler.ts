/** edge.<nodeId>.cluster.cmd.status and .retry: decoded by the transport, answered by the reconciler. */
import { Controller } from '@nestjs/common';
import { ClusterApi } from '@outpost/contracts';
import { Command, type ReplyOf } from '@outpost/bus';
import { ClusterReconciler } from '../cluster-reconciler.service.js';

@Controller()
export class ClusterCommandsHandler {
  constructor(private readonly reconciler: ClusterReconciler) {}

  @Command(ClusterApi.cmd.status)
  status(): ReplyOf<typeof ClusterApi.cmd.status> {
    return this.reconciler.current();
  }

  @Command(ClusterApi.cmd.retry)
  retry(): Promise<ReplyOf<typeof ClusterApi.cmd.retry>> {
    return this.reconciler.retry();
  }
}
