/** The hub's enrolment service: endpoints under edge.hub.enrolment.cmd.* (docs/enrolment.md). */
import { command } from '../catalog.js';
import {
  EnrolmentCreateTokenReplySchema,
  EnrolmentCreateTokenRequestSchema,
  EnrolmentCredentialsSchema,
  EnrolmentEnrolRequestSchema,
  EnrolmentListReplySchema,
  EnrolmentListRequestSchema,
  EnrolmentRenewRequestSchema,
  EnrolmentRevokeReplySchema,
  EnrolmentRevokeRequestSchema,
} from '../gen/outpost/enrolment/v1/enrolment_pb.js';

export const EnrolmentApi = {
  agent: 'enrolment',
  cmd: {
    createToken: command(
      'enrolment',
      'create-token',
      EnrolmentCreateTokenRequestSchema,
      EnrolmentCreateTokenReplySchema,
      'A one-time enrolment token (single use, bounded lifetime, optionally bound to a node id and a hardware id)',
    ),
    enrol: command(
      'enrolment',
      'enrol',
      EnrolmentEnrolRequestSchema,
      EnrolmentCredentialsSchema,
      "Trade a token and the node's public key for a user JWT confined to edge.<node>.> and the node's domain",
    ),
    renew: command(
      'enrolment',
      'renew',
      EnrolmentRenewRequestSchema,
      EnrolmentCredentialsSchema,
      'A new user JWT for the same key, signed for by the node before its credentials expire',
    ),
    revoke: command(
      'enrolment',
      'revoke',
      EnrolmentRevokeRequestSchema,
      EnrolmentRevokeReplySchema,
      'Revoke a node: its keys are revoked in the FLEET account and its leaf is disconnected',
    ),
    list: command(
      'enrolment',
      'list',
      EnrolmentListRequestSchema,
      EnrolmentListReplySchema,
      'Every node the service has enrolled, with its state and key',
    ),
  },
  evt: {},
} as const;
