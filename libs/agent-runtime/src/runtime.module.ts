/**
 * What every agent module can inject, provided by the runtime (one instance per agent):
 *   AGENT_CONTEXT   node id, identity, agent id, version, paths, device, common settings
 *   AGENT_SETTINGS  the agent's own typed settings
 *   BusClient       typed requests and events
 *   BUS_STORES      the KV buckets (edge_desired, edge_status)
 *   StatusReporter  the agent's status (READY / DEGRADED with reasons)
 *   AGENT_LOGGER    the agent's JSON logger (with agent and node fields)
 */
import { Module, type DynamicModule, type LoggerService } from '@nestjs/common';
import type { NodeIdentity, ServiceId } from '@outpost/contracts';
import { BusClient, type BusStores } from '@outpost/bus';
import type { Device } from '@outpost/device';
import type { OutpostPaths } from './config/paths.js';
import type { SettingsOf } from './config/settings.js';
import type { commonSettings } from './config/common.settings.js';
import { StatusReporter } from './status/status-reporter.js';

export const AGENT_CONTEXT = Symbol.for('outpost.agent-context');
export const AGENT_SETTINGS = Symbol.for('outpost.agent-settings');
export const BUS_STORES = Symbol.for('outpost.bus-stores');
export const AGENT_LOGGER = Symbol.for('outpost.agent-logger');

export type CommonSettings = SettingsOf<typeof commonSettings>;

export interface AgentContext {
  nodeId: string;
  agent: ServiceId;
  version: string;
  instanceId: string;
  startedAt: Date;
  identity: NodeIdentity;
  paths: OutpostPaths;
  device: Device;
  common: CommonSettings;
}

export interface RuntimeProviders {
  context: AgentContext;
  settings: unknown;
  client: BusClient;
  stores: BusStores;
  status: StatusReporter;
  logger: LoggerService;
}

@Module({})
export class RuntimeModule {
  static forAgent(p: RuntimeProviders): DynamicModule {
    return {
      module: RuntimeModule,
      global: true,
      providers: [
        { provide: AGENT_CONTEXT, useValue: p.context },
        { provide: AGENT_SETTINGS, useValue: p.settings },
        { provide: BUS_STORES, useValue: p.stores },
        { provide: BusClient, useValue: p.client },
        { provide: StatusReporter, useValue: p.status },
        { provide: AGENT_LOGGER, useValue: p.logger },
      ],
      exports: [AGENT_CONTEXT, AGENT_SETTINGS, BUS_STORES, AGENT_LOGGER, BusClient, StatusReporter],
    };
  }
}
