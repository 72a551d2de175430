/**
 * Watches the two profile keys of KV edge_desired: fleet.telemetry (fleet defaults) and
 * <nodeId>.telemetry (this node), one watch each. Each value goes to the engine as text, which
 * validates it strictly.
 */
import { kvKeys, KV_DESIRED } from '@outpost/contracts';
import type { KeyEntry } from '@outpost/bus';
import { keyWatcher } from '@outpost/agent-runtime';
import { TelemetryService, type ProfileSource } from '../telemetry.service.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const ProfileWatcher = keyWatcher<[TelemetryService]>({
  provide: 'ProfileWatcher',
  log: 'Profiles',
  inject: [TelemetryService],
  keys: ({ ctx }, engine) =>
    (
      [
        ['fleet', kvKeys.fleetTelemetry()],
        ['node', kvKeys.desired(ctx.nodeId, 'telemetry')],
      ] as const
    ).map(([source, key]) => ({
      bucket: KV_DESIRED,
      key,
      onEntry: (entry: KeyEntry) => receive(engine, source, entry),
    })),
});

async function receive(engine: TelemetryService, source: ProfileSource, entry: KeyEntry): Promise<void> {
  let text: string | undefined;
  if (entry.operation === 'PUT') {
    try {
      text = utf8.decode(entry.value);
    } catch {
      text = '"not UTF-8"'; // a JSON string, so the engine rejects it with a decode reason
    }
  }
  await engine.receive(source, entry.revision, text);
}
