/** What an agent lib exports: its id, its Nest module and its typed settings. */
import type { DynamicModule, Type } from '@nestjs/common';
import type { AgentId } from '@outpost/contracts';
import type { SettingsSpec } from './config/settings.js';

export interface AgentDefinition<S extends SettingsSpec = SettingsSpec> {
  agent: AgentId;
  description: string;
  /** Its Nest module; a dynamic one lets a test give the agent other providers (e.g. a clock). */
  module: Type<unknown> | DynamicModule;
  settings: S;
}

export function defineAgent<S extends SettingsSpec>(definition: AgentDefinition<S>): AgentDefinition<S> {
  return definition;
}
