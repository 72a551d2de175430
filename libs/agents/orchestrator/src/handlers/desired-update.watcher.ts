/**
 * Watches KV edge_desired <nodeId>.update and hands each value's JSON text to the engine, which
 * validates it strictly. A deleted key is not an order to undo anything: the last desired state stays
 * (write another version to change course).
 */
import type { LoggerService } from '@nestjs/common';
import { kvKeys, KV_DESIRED } from '@outpost/contracts';
import type { KeyEntry } from '@outpost/bus';
import { keyWatcher } from '@outpost/agent-runtime';
import { OrchestratorService } from '../orchestrator.service.js';

const LOG = 'Desired';
const utf8 = new TextDecoder('utf-8', { fatal: true });

export const DesiredUpdateWatcher = keyWatcher<[OrchestratorService]>({
  provide: 'DesiredUpdateWatcher',
  log: LOG,
  inject: [OrchestratorService],
  keys: ({ ctx, logger }, engine) => [
    {
      bucket: KV_DESIRED,
      key: kvKeys.desiredUpdate(ctx.nodeId),
      onEntry: (entry) => receive(engine, logger, entry),
    },
  ],
});

function receive(engine: OrchestratorService, logger: LoggerService, entry: KeyEntry): void {
  if (entry.operation !== 'PUT') {
    logger.warn(`desired update ${entry.operation} (revision ${entry.revision}); keeping the last one`, LOG);
    return;
  }
  let text: string;
  try {
    text = utf8.decode(entry.value);
  } catch {
    void engine.receiveDesired('not UTF-8', entry.revision);
    return;
  }
  void engine.receiveDesired(text, entry.revision);
}
