/**
 * Watches the telemetry agent's effective configuration (KV edge_status <nodeId>.telemetry.effective).
 * The KV copy is written before evt.config is published and is there after a restart of either
 * agent, so one watch gives both the configuration in force at start and every new generation.
 * A value that does not decode is logged and skipped.
 */
import type { LoggerService } from '@nestjs/common';
import { ContractError, decode, kvKeys, KV_STATUS, TelemetryConfigSchema } from '@outpost/contracts';
import type { KeyEntry } from '@outpost/bus';
import { keyWatcher } from '@outpost/agent-runtime';
import { ObservabilityService } from '../observability.service.js';

const LOG = 'EffectiveConfig';

export const EffectiveConfigWatcher = keyWatcher<[ObservabilityService]>({
  provide: 'EffectiveConfigWatcher',
  log: LOG,
  inject: [ObservabilityService],
  keys: ({ ctx, logger }, engine) => [
    {
      bucket: KV_STATUS,
      key: kvKeys.telemetryEffective(ctx.nodeId),
      onEntry: (entry) => receive(engine, logger, entry),
    },
  ],
});

function receive(engine: ObservabilityService, logger: LoggerService, entry: KeyEntry): void {
  if (entry.operation !== 'PUT') return;
  let config;
  try {
    config = decode(TelemetryConfigSchema, entry.value);
  } catch (err) {
    const reason = err instanceof ContractError ? err.message : String(err);
    logger.warn(`effective configuration revision ${entry.revision} rejected: ${reason}`, LOG);
    return;
  }
  // Not awaited: applying waits for the telemetry agent's answer, which must not hold the watch.
  void engine
    .receive(config)
    .catch((err: unknown) =>
      logger.error(`applying generation ${config.generation} failed: ${String(err)}`, LOG),
    );
}
