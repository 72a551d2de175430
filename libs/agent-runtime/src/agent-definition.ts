/** What an agent lib exports: its id, its Nest module and its typed settings. */
import type { DynamicModule, Type } from '@nestjs/common';
import type { AgentId, ServiceId } from '@outpost/contracts';
import type { SettingsSpec } from './config/settings.js';

/**
 * A node's agent by default; a hub service (HUB_SERVICE_IDS: edge.hub.<service>...) names its id type,
 * and its id alone tells the runtime that it runs on a hub.
 */
export interface AgentDefinition<S extends SettingsSpec = SettingsSpec, Id extends ServiceId = AgentId> {
  agent: Id;
  description: string;
  /** Its Nest module; a dynamic one lets a test give the agent other providers (e.g. a clock). */
  module: Type<unknown> | DynamicModule;
  settings: S;
}

export function defineAgent<S extends SettingsSpec, Id extends ServiceId = AgentId>(
  definition: AgentDefinition<S, Id>,
): AgentDefinition<S, Id> {
  return definition;
}
