/** The hardware agent's endpoints and events. */
import type { CommandDef, EventDef } from '../catalog.js';

export const HardwareApi = {
  agent: 'hardware',
  cmd: {} as Record<string, CommandDef>,
  evt: {} as Record<string, EventDef>,
} as const;
