/**
 * The enrolment service's engine: reads the records, asks the domain what a request does, carries the
 * decision out (compare-and-set writes first, signing after), and keeps the resolver's copy of the
 * FLEET account in step with the revocations in the records (pushed at start and on every change).
 */
import { randomBytes } from 'node:crypto';
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import { durationMs, timestampFromMs, timestampMs } from '@bufbuild/protobuf/wkt';
import type { NatsConnection } from '@nats-io/nats-core';
import { credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  ContractError,
  EnrolmentCreateTokenReplySchema,
  EnrolmentCredentialsSchema,
  EnrolmentListReplySchema,
  EnrolmentRevokeReplySchema,
  ErrorCode,
  type EnrolmentCreateTokenReply,
  type EnrolmentCreateTokenRequest,
  type EnrolmentCredentials,
  type EnrolmentEnrolRequest,
  type EnrolmentListReply,
  type EnrolmentNode,
  type EnrolmentRenewRequest,
  type EnrolmentRevokeReply,
  type EnrolmentRevokeRequest,
} from '@outpost/contracts';
import { BusClient } from '@outpost/bus';
import {
  AGENT_CONTEXT,
  AGENT_LOGGER,
  AGENT_SETTINGS,
  type AgentContext,
  readCredsFile,
  StatusReporter,
  type SettingsOf,
  SerialQueue,
} from '@outpost/agent-runtime';
import type { enrolmentSettings } from './config/enrolment.settings.js';
import { CredentialIssuer, readSeed } from './credentials/issuer.js';
import {
  checkNodeId,
  decideEnrol,
  decideRenew,
  decideRevoke,
  issuedToken,
  revocationsOf,
} from './domain/enrol.js';
import { isRefusal, type Refusal } from './domain/refusal.js';
import { readToken, tokenTtlMs } from './domain/token.js';
import { EnrolmentStore, StaleRevisionError } from './state/enrolment.store.js';

type Settings = SettingsOf<typeof enrolmentSettings>;
const LOG = 'Enrolment';

/** The typed error of a refusal: PERMISSION_DENIED (or INVALID_ARGUMENT for a malformed id), reason first. */
export function refusalError(refusal: Refusal): ContractError {
  const code =
    refusal.refused === 'node-id-invalid' || refusal.refused === 'key-invalid'
      ? ErrorCode.INVALID_ARGUMENT
      : refusal.refused === 'not-enrolled'
        ? ErrorCode.NOT_FOUND
        : ErrorCode.PERMISSION_DENIED;
  return new ContractError(code, refusal.message, [refusal.refused]);
}

function orRefuse<T>(value: T | Refusal): T {
  if (isRefusal(value)) throw refusalError(value);
  return value;
}

@Injectable()
export class EnrolmentService implements OnModuleInit, OnModuleDestroy {
  private store!: EnrolmentStore;
  private issuer!: CredentialIssuer;
  private system!: NatsConnection;
  private readonly queue = new SerialQueue();

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: Settings,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
    private readonly bus: BusClient,
    private readonly status: StatusReporter,
  ) {}

  async onModuleInit(): Promise<void> {
    const s = this.settings;
    if (!s.fleetAccount)
      throw new Error('enrolment: fleetAccount is required (the FLEET account public key)');
    this.issuer = new CredentialIssuer({
      fleetAccount: s.fleetAccount,
      fleetSigning: await readSeed(s.fleetSigningSeedFile, 'SA', 'fleetSigningSeedFile'),
      operatorSigning: await readSeed(s.operatorSigningSeedFile, 'SO', 'operatorSigningSeedFile'),
      tokenSigning: await readSeed(s.tokenSigningSeedFile, 'SA', 'tokenSigningSeedFile'),
    });
    this.store = await EnrolmentStore.open(this.bus.connection, s.kvReplicas);
    this.system = await connect({
      servers: this.ctx.common.natsUrl.split(',').map((url) => url.trim()),
      name: 'outpost-enrolment-system',
      authenticator: credsAuthenticator(await readCredsFile(s.systemCredsFile)),
      maxReconnectAttempts: -1,
    });
    // A revocation whose push failed (hub down, service killed) is pushed again now.
    await this.pushAccount().catch((err: unknown) => {
      this.status.degraded(`account not pushed: ${String(err)}`);
      this.logger.warn(`FLEET account JWT not pushed at start: ${String(err)}`, LOG);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.system?.close();
  }

  createToken(req: EnrolmentCreateTokenRequest): Promise<EnrolmentCreateTokenReply> {
    return this.queue.run(async () => {
      const now = Date.now();
      if (req.nodeId) orRefuse(checkNodeId(req.nodeId) ?? true);
      const ttl = orRefuse(
        tokenTtlMs(
          req.ttl ? durationMs(req.ttl) : undefined,
          this.settings.tokenTtlSeconds * 1000,
          this.settings.maxTokenTtlSeconds * 1000,
        ),
      );
      const claims = {
        tokenId: randomBytes(16).toString('base64url'),
        nodeId: req.nodeId,
        hardwareId: req.hardwareId,
        // Whole seconds, as in the JWT: the record and the token say the same.
        expiresAtMs: Math.floor((now + ttl) / 1000) * 1000,
      };
      await this.store.createToken(issuedToken(claims));
      const token = await this.issuer.token(claims);
      this.logger.log(`token ${claims.tokenId} issued for ${claims.nodeId || 'any node id'}`, LOG);
      return create(EnrolmentCreateTokenReplySchema, {
        token,
        tokenId: claims.tokenId,
        nodeId: claims.nodeId,
        expiresAt: timestampFromMs(claims.expiresAtMs),
      });
    });
  }

  enrol(req: EnrolmentEnrolRequest): Promise<EnrolmentCredentials> {
    return this.queue.run(async () => {
      const now = Date.now();
      const claims = orRefuse(readToken(req.token, this.issuer.tokenIssuer, now));
      const token = await this.store.token(claims.tokenId);
      const node = await this.store.node(req.nodeId).catch(() => undefined);
      const decision = orRefuse(
        decideEnrol({
          claims,
          token: token?.record,
          node: node?.record,
          request: { nodeId: req.nodeId, publicKey: req.publicKey, hardwareId: req.hardwareId },
          nowMs: now,
          credentialsTtlMs: this.settings.credentialsTtlSeconds * 1000,
        }),
      );
      // The single-use point: the token goes from ISSUED to USED at the revision read, or not at all.
      try {
        await this.store.updateToken(decision.token, token?.revision ?? 0);
      } catch (err) {
        if (err instanceof StaleRevisionError) {
          throw refusalError({
            refused: 'token-used',
            message: `enrolment token ${claims.tokenId} was already used`,
          });
        }
        throw err;
      }
      try {
        await this.store.writeNode(decision.node, node?.revision);
      } catch (err) {
        if (!(err instanceof StaleRevisionError)) throw err;
        throw new ContractError(
          ErrorCode.FAILED_PRECONDITION,
          `node ${req.nodeId} changed while it enrolled (token ${claims.tokenId} is used up): ask for a new token`,
        );
      }
      if (decision.revokedKeys.length > 0) await this.pushAccount();
      this.logger.log(`node ${req.nodeId} enrolled with key ${req.publicKey} (token ${claims.tokenId})`, LOG);
      return this.credentials(decision.node);
    });
  }

  renew(req: EnrolmentRenewRequest): Promise<EnrolmentCredentials> {
    return this.queue.run(async () => {
      const now = Date.now();
      const node = await this.store.node(req.nodeId).catch(() => undefined);
      const next = orRefuse(
        decideRenew({
          node: node?.record,
          request: {
            nodeId: req.nodeId,
            publicKey: req.publicKey,
            signedAtMs: req.signedAt ? timestampMs(req.signedAt) : undefined,
            signature: req.signature,
          },
          nowMs: now,
          skewMs: this.settings.renewSkewSeconds * 1000,
          credentialsTtlMs: this.settings.credentialsTtlSeconds * 1000,
        }),
      );
      await this.store.writeNode(next, node?.revision);
      this.logger.log(`node ${req.nodeId} renewed its credentials`, LOG);
      return this.credentials(next);
    });
  }

  revoke(req: EnrolmentRevokeRequest): Promise<EnrolmentRevokeReply> {
    return this.queue.run(async () => {
      orRefuse(checkNodeId(req.nodeId) ?? true);
      const node = await this.store.node(req.nodeId);
      const next = orRefuse(decideRevoke(node?.record, req.nodeId, req.reason, Date.now()));
      if (next !== node?.record) await this.store.writeNode(next, node?.revision);
      // The record says revoked before the push: a failed push is retried at the next start.
      await this.pushAccount();
      this.logger.log(`node ${req.nodeId} revoked${req.reason ? `: ${req.reason}` : ''}`, LOG);
      return create(EnrolmentRevokeReplySchema, { node: next });
    });
  }

  async list(): Promise<EnrolmentListReply> {
    return create(EnrolmentListReplySchema, { nodes: await this.store.allNodes() });
  }

  private async credentials(node: EnrolmentNode): Promise<EnrolmentCredentials> {
    const expiresAtMs = node.credentialsExpireAt ? timestampMs(node.credentialsExpireAt) : Date.now();
    return create(EnrolmentCredentialsSchema, {
      nodeId: node.nodeId,
      jwt: await this.issuer.nodeJwt(node.nodeId, node.publicKey, expiresAtMs),
      expiresAt: timestampFromMs(expiresAtMs),
      account: this.issuer.fleetAccount,
    });
  }

  /** Signs the FLEET account with every revoked key and hands it to the resolver (the cluster spreads it). */
  private async pushAccount(): Promise<void> {
    const jwt = await this.issuer.accountJwt(revocationsOf(await this.store.allNodes()));
    const reply = await this.system.request('$SYS.REQ.CLAIMS.UPDATE', jwt, { timeout: 5_000 });
    const body = reply.json<{
      data?: { code?: number; message?: string };
      error?: { description?: string };
    }>();
    if (body.error || body.data?.code !== 200) {
      throw new ContractError(
        ErrorCode.UNAVAILABLE,
        `the resolver refused the FLEET account update: ${body.error?.description ?? body.data?.message ?? 'no reason'}`,
      );
    }
    this.status.ready();
  }
}
