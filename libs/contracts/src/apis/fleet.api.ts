/** The fleet agent's endpoints and events. */
import { command } from '../catalog.js';
import {
  FleetEchoReplySchema,
  FleetEchoRequestSchema,
  FleetStatusRequestSchema,
  FleetStatusSchema,
} from '../gen/outpost/fleet/v1/fleet_pb.js';

export const FleetApi = {
  agent: 'fleet',
  cmd: {
    status: command(
      'fleet',
      'status',
      FleetStatusRequestSchema,
      FleetStatusSchema,
      'What the fleet agent has done so far',
    ),
    echo: command(
      'fleet',
      'echo',
      FleetEchoRequestSchema,
      FleetEchoReplySchema,
      'Answers the text back with a sequence number that survives restarts',
    ),
  },
  evt: {},
} as const;
