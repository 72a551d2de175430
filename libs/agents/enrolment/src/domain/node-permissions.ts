/**
 * What a node's user JWT allows on the hub, seen from the hub: the leaf connection may publish into
 * the FLEET account and receive from it only these subjects. Everything of another node is refused by
 * the server in both directions; the hub's own JetStream API ($JS.API.>, $JS.hub.API.>) is not granted.
 */
import type { Permissions } from '@nats-io/jwt';
import { HUB_DOMAIN, wildcards } from '@outpost/contracts';

export function nodeUserPermissions(nodeId: string): Permissions {
  if (nodeId === HUB_DOMAIN) throw new Error(`"${HUB_DOMAIN}" is the hub's domain, not a node id`);
  return {
    pub: {
      allow: [
        // Its agents' events, statuses and replies to requests addressed to them.
        wildcards.node(nodeId),
        // Replies to the hub's requests (agents' commands, JetStream API calls to the node's domain).
        // Reply subjects are random inboxes: granting the prefix is how leaf replies work on 2.9.
        '_INBOX.>',
        // Deliveries of the node's event stream to the hub's FLEET_EVENTS source, and the JetStream
        // API replies of the node's domain to the hub's internal requests.
        '$JS.S.>',
        '$JSC.R.>',
      ],
    },
    sub: {
      allow: [
        // Requests to its agents.
        wildcards.node(nodeId),
        // Its own JetStream domain: the hub's KV writes of its desired state, the FLEET_EVENTS source.
        `$JS.${nodeId}.API.>`,
        // Flow control of that source.
        '$JS.FC.>',
        // Discovery from the hub (nats micro ls).
        '$SRV.>',
      ],
    },
  };
}
