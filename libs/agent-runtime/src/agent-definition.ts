/** What an agent lib exports: its id, its Nest module and its typed settings. */
import type { DynamicModule, Type } from '@nestjs/common';
import type { AgentId, ServiceId } from '@outpost/contracts';
import type { SettingsSpec } from './config/settings.js';

/** A node's agent by default; a hub service (edge.hub.<service>...) names its id type. */
export interface AgentDefinition<S extends SettingsSpec = SettingsSpec, Id extends ServiceId = AgentId> {
  agent: Id;
  description: string;
  /** Its Nest module; a dynamic one lets a test give the agent other providers (e.g. a clock). */
  module: Type<unknown> | DynamicModule;
  settings: S;
  /**
   * Runs on a fleet's hub, not on a node (the fleet service). Without NATS users the runtime then
   * provisions only the KV buckets on the hub, never the node event stream: its subjects
   * (edge.*.*.evt.>) would draw every node's events over the leaf links a second time.
   */
  hub?: boolean;
}

export function defineAgent<S extends SettingsSpec, Id extends ServiceId = AgentId>(
  definition: AgentDefinition<S, Id>,
): AgentDefinition<S, Id> {
  return definition;
}
