/** The hardware agent's endpoints and events. */
import { command, event } from '../catalog.js';
import {
  InventoryChangedSchema,
  InventoryRequestSchema,
  InventorySchema,
  RescanReplySchema,
  RescanRequestSchema,
} from '../gen/outpost/hardware/v1/hardware_pb.js';

export const HardwareApi = {
  agent: 'hardware',
  cmd: {
    inventory: command(
      'hardware',
      'inventory',
      InventoryRequestSchema,
      InventorySchema,
      'The current hardware inventory (the last scan; nothing is rescanned)',
    ),
    rescan: command(
      'hardware',
      'rescan',
      RescanRequestSchema,
      RescanReplySchema,
      'Scans the hardware now; answers whether it changed, with the diff and the content hash',
    ),
  },
  evt: {
    inventory: event(
      'hardware',
      'inventory',
      InventoryChangedSchema,
      'Published when a scan finds the inventory changed: the diff and the new content hash',
    ),
  },
} as const;
