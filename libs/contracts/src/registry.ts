/** The catalog of the whole suite: every agent's API, and the lookup the transport uses. */
import type { AgentId, HubServiceId, ServiceId } from './agents.js';
import type { AgentApi, CommandDef, EventDef } from './catalog.js';
import { ClusterApi } from './apis/cluster.api.js';
import { HardwareApi } from './apis/hardware.api.js';
import { NodeApi } from './apis/node.api.js';
import { UpdateApi } from './apis/update.api.js';
import { OrchestratorApi } from './apis/orchestrator.api.js';
import { TelemetryApi } from './apis/telemetry.api.js';
import { ObservabilityApi } from './apis/observability.api.js';
import { FleetApi } from './apis/fleet.api.js';
import { EnrolmentApi } from './apis/enrolment.api.js';

/** Every agent API of a node's suite, by agent id. Each agent's entries live in apis/<agent>.api.ts. */
export const CATALOG: Partial<Record<AgentId, AgentApi>> = {
  node: NodeApi,
  hardware: HardwareApi,
  cluster: ClusterApi,
  update: UpdateApi,
  orchestrator: OrchestratorApi,
  telemetry: TelemetryApi,
  observability: ObservabilityApi,
};

/** The services of a fleet hub (edge.hub.<service>...), apart from the node's suite. */
export const HUB_CATALOG: Record<HubServiceId, AgentApi<HubServiceId>> = {
  fleet: FleetApi,
  enrolment: EnrolmentApi,
};

const byPattern = new Map<string, CommandDef | EventDef>();
for (const api of [...Object.values(CATALOG), ...Object.values(HUB_CATALOG)] as AgentApi<ServiceId>[]) {
  for (const def of [...Object.values(api.cmd), ...Object.values(api.evt)]) byPattern.set(def.pattern, def);
}

/** The catalog entry of a Nest pattern, or undefined if the catalog has none. */
export function catalogEntry(pattern: string): CommandDef | EventDef | undefined {
  return byPattern.get(pattern);
}
