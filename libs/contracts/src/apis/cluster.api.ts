/** The cluster agent's endpoints and events. */
import type { CommandDef, EventDef } from '../catalog.js';

export const ClusterApi = {
  agent: 'cluster',
  cmd: {} as Record<string, CommandDef>,
  evt: {} as Record<string, EventDef>,
} as const;
