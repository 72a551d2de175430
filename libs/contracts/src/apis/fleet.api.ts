/** The fleet service's endpoints and events (it runs on the hub, node id HUB_DOMAIN: edge.hub.fleet.*). */
import { command, event } from '../catalog.js';
import {
  FleetLabelsRequestSchema,
  FleetNodeRequestSchema,
  FleetNodeSchema,
  FleetNodesReplySchema,
  FleetNodesRequestSchema,
  FleetStatusRequestSchema,
  FleetStatusSchema,
  RolloutChangeSchema,
  RolloutCreateRequestSchema,
  RolloutListReplySchema,
  RolloutListRequestSchema,
  RolloutRequestSchema,
  RolloutSchema,
} from '../gen/outpost/fleet/v1/fleet_pb.js';

export const FleetApi = {
  agent: 'fleet',
  cmd: {
    status: command(
      'fleet',
      'status',
      FleetStatusRequestSchema,
      FleetStatusSchema,
      'Nodes and rollouts known to the fleet service',
    ),
    nodes: command(
      'fleet',
      'nodes',
      FleetNodesRequestSchema,
      FleetNodesReplySchema,
      'The inventory, by label selector, paginated',
    ),
    node: command('fleet', 'node', FleetNodeRequestSchema, FleetNodeSchema, 'One node of the inventory'),
    labels: command(
      'fleet',
      'labels',
      FleetLabelsRequestSchema,
      FleetNodeSchema,
      "Set or drop the hub's label overrides of a node",
    ),
    rolloutCreate: command(
      'fleet',
      'rollout-create',
      RolloutCreateRequestSchema,
      RolloutSchema,
      'Declare a staged rollout of a signed update',
    ),
    rolloutStatus: command(
      'fleet',
      'rollout-status',
      RolloutRequestSchema,
      RolloutSchema,
      'A rollout with every target node',
    ),
    rolloutList: command(
      'fleet',
      'rollout-list',
      RolloutListRequestSchema,
      RolloutListReplySchema,
      'Every rollout, newest first',
    ),
    rolloutPause: command(
      'fleet',
      'rollout-pause',
      RolloutRequestSchema,
      RolloutSchema,
      'Stop assigning nodes',
    ),
    rolloutResume: command(
      'fleet',
      'rollout-resume',
      RolloutRequestSchema,
      RolloutSchema,
      'Assign nodes again',
    ),
    rolloutAbort: command(
      'fleet',
      'rollout-abort',
      RolloutRequestSchema,
      RolloutSchema,
      'Stop the rollout for good',
    ),
  },
  evt: {
    rollout: event('fleet', 'rollout', RolloutChangeSchema, 'Published at every change of a rollout'),
  },
} as const;
