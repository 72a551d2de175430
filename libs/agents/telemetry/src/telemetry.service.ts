/**
 * The telemetry configuration engine: takes the fleet and node profiles from the watcher, validates
 * and merges them, publishes each new effective configuration (evt.config + KV edge_status copy)
 * under a new generation, and acts on the data plane's apply reports (confirm, or roll back to the
 * last good configuration). Every change runs through one queue, so watch entries and reports never
 * interleave; the state is persisted before anything is published.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { create, equals } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import {
  ContractError,
  decodeJsonText,
  encode,
  encodeJsonText,
  ErrorCode,
  kvKeys,
  TelemetryApi,
  TelemetryApplyReplySchema,
  TelemetryApplyReportSchema,
  TelemetryConfigSchema,
  TelemetryProfileSchema,
  TelemetryRejectionSchema,
  TelemetryStatusSchema,
  type TelemetryApplyReply,
  type TelemetryApplyReport,
  type TelemetryConfig,
  type TelemetryProfile,
  type TelemetryStatus,
} from '@outpost/contracts';
import { BusClient, type BusStores } from '@outpost/bus';
import {
  AGENT_CONTEXT,
  AGENT_LOGGER,
  AGENT_SETTINGS,
  BUS_STORES,
  StatusReporter,
  type AgentContext,
  type SettingsOf,
  SerialQueue,
} from '@outpost/agent-runtime';
import type { telemetrySettings } from './config/telemetry.settings.js';
import { mergeProfiles, validateProfile } from './domain/profile.js';
import { decideApply } from './domain/rollback.js';
import {
  TelemetryStateStore,
  type PersistedTelemetry,
  type StoredConfig,
} from './state/telemetry-state.store.js';

const LOG = 'Telemetry';
type Settings = SettingsOf<typeof telemetrySettings>;
export type ProfileSource = 'fleet' | 'node';

@Injectable()
export class TelemetryService implements OnModuleInit, OnApplicationBootstrap {
  private readonly store: TelemetryStateStore;
  private state: PersistedTelemetry = { generation: 0, fleetRevision: 0, nodeRevision: 0, rejections: {} };
  private readonly queue = new SerialQueue();

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: Settings,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    private readonly client: BusClient,
    private readonly status: StatusReporter,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {
    this.store = new TelemetryStateStore(ctx.paths.stateDir);
  }

  /** Loads the persisted state before any watcher starts (module init precedes bootstrap). */
  async onModuleInit(): Promise<void> {
    this.state = (await this.store.load()) ?? this.state;
  }

  /** After a restart the configuration in force is announced again in KV (same generation). */
  async onApplicationBootstrap(): Promise<void> {
    if (this.state.effective) await this.putEffective(this.config(this.state.effective));
    this.reportHealth();
  }

  /** A KV value of a profile key (text undefined: the key was deleted or purged). */
  receive(source: ProfileSource, revision: number, text: string | undefined): Promise<void> {
    return this.queue.run(() => this.apply(source, revision, text));
  }

  reportApply(report: TelemetryApplyReport): Promise<TelemetryApplyReply> {
    return this.queue.run(() => this.onReport(report));
  }

  statusMessage(): TelemetryStatus {
    const s = this.state;
    const rejections = Object.values(s.rejections).map((j) => decodeJsonText(TelemetryRejectionSchema, j));
    rejections.sort((a, b) => Number(b.revision - a.revision));
    return create(TelemetryStatusSchema, {
      effective: s.effective && this.config(s.effective),
      lastGoodGeneration: BigInt(s.lastGood?.generation ?? 0),
      lastRejection: rejections[0],
      lastApplyReport: s.lastApplyReportJson
        ? decodeJsonText(TelemetryApplyReportSchema, s.lastApplyReportJson)
        : undefined,
      reasons: this.reasons(),
    });
  }

  private async apply(source: ProfileSource, revision: number, text: string | undefined): Promise<void> {
    const key = source === 'fleet' ? kvKeys.fleetTelemetry() : kvKeys.desired(this.ctx.nodeId, 'telemetry');
    const seen = source === 'fleet' ? this.state.fleetRevision : this.state.nodeRevision;
    if (revision <= seen) return; // a replay after a restart: already taken into account
    if (source === 'fleet') this.state.fleetRevision = revision;
    else this.state.nodeRevision = revision;

    let profile: TelemetryProfile | undefined;
    if (text !== undefined) {
      const checked = this.check(text);
      if (typeof checked === 'string') {
        this.logger.warn(`${key} revision ${revision} rejected: ${checked}; the previous profile stays`, LOG);
        this.state.rejections[key] = encodeJsonText(
          TelemetryRejectionSchema,
          create(TelemetryRejectionSchema, {
            key,
            revision: BigInt(revision),
            reason: checked,
            at: timestampFromMs(Date.now()),
          }),
        );
        await this.store.save(this.state);
        this.reportHealth();
        return;
      }
      profile = checked;
    }
    delete this.state.rejections[key];

    const current = this.state.effective;
    const sources = { fleetJson: current?.fleetJson, nodeJson: current?.nodeJson };
    const json = profile && encodeJsonText(TelemetryProfileSchema, profile);
    if (source === 'fleet') sources.fleetJson = json;
    else sources.nodeJson = json;
    const merged = mergeProfiles(this.profile(sources.fleetJson), this.profile(sources.nodeJson));
    if (
      current &&
      equals(TelemetryProfileSchema, merged, this.config(current).profile ?? create(TelemetryProfileSchema))
    ) {
      // Same configuration: nothing to publish, but the new sources are remembered.
      this.state.effective = { ...current, ...sources };
      await this.store.save(this.state);
      this.reportHealth();
      return;
    }
    this.state.applyProblem = undefined;
    await this.publish(merged, sources, {
      reason: `${key} revision ${revision} ${text === undefined ? 'removed' : 'accepted'}`,
    });
  }

  /** The profile of a KV value, or why it is rejected. */
  private check(text: string): TelemetryProfile | string {
    let profile: TelemetryProfile;
    try {
      profile = decodeJsonText(TelemetryProfileSchema, text);
    } catch (err) {
      return err instanceof ContractError ? err.message : String(err);
    }
    const valid = validateProfile(profile, this.settings);
    return valid.ok ? profile : valid.reason;
  }

  private async onReport(report: TelemetryApplyReport): Promise<TelemetryApplyReply> {
    const generation = Number(report.generation);
    if (generation === 0)
      throw new ContractError(ErrorCode.INVALID_ARGUMENT, 'generation is required (1 or more)', [
        'generation',
      ]);
    if (generation > this.state.generation)
      throw new ContractError(
        ErrorCode.INVALID_ARGUMENT,
        `generation ${generation} was never published (latest ${this.state.generation})`,
        ['generation'],
      );
    if (!report.ok && report.reason.trim() === '')
      throw new ContractError(ErrorCode.INVALID_ARGUMENT, 'reason is required when ok is false', ['reason']);

    this.state.lastApplyReportJson = encodeJsonText(TelemetryApplyReportSchema, report);
    const effective = this.state.effective;
    const decision = decideApply(
      {
        effectiveGeneration: effective?.generation ?? 0,
        lastGoodGeneration: this.state.lastGood?.generation ?? 0,
        effectiveIsRollback: effective ? this.config(effective).rolledBack : false,
      },
      { generation, ok: report.ok },
    );
    let outcome: string;
    let rolledBack = false;
    switch (decision.action) {
      case 'confirm':
        this.state.lastGood = effective;
        this.state.applyProblem = undefined;
        outcome = `generation ${generation} is the last good configuration`;
        await this.store.save(this.state);
        break;
      case 'stale':
        outcome = `recorded only: ${decision.reason}`;
        await this.store.save(this.state);
        break;
      case 'stuck':
        outcome = `no rollback: ${decision.reason}`;
        this.state.applyProblem = `generation ${generation} failed to apply (${report.reason}); ${decision.reason}`;
        this.logger.warn(this.state.applyProblem, LOG);
        await this.store.save(this.state);
        break;
      case 'rollback': {
        const good = this.state.lastGood;
        if (!good) throw new ContractError(ErrorCode.INTERNAL, 'last good configuration is missing');
        const reason = `generation ${generation} failed to apply (${report.reason}); rolled back to the last good generation ${good.generation}`;
        this.state.applyProblem = reason;
        this.logger.warn(reason, LOG);
        await this.publish(
          this.config(good).profile ?? create(TelemetryProfileSchema),
          { fleetJson: good.fleetJson, nodeJson: good.nodeJson },
          { reason, rolledBack: true, rolledBackFrom: BigInt(generation) },
        );
        outcome = `rolled back: generation ${this.state.generation} carries generation ${good.generation}`;
        rolledBack = true;
        break;
      }
    }
    this.reportHealth();
    return create(TelemetryApplyReplySchema, {
      rolledBack,
      effective: this.state.effective && this.config(this.state.effective),
      outcome,
    });
  }

  /** Persists, then publishes a new generation: the event, and the KV copy for late readers. */
  private async publish(
    profile: TelemetryProfile,
    sources: { fleetJson?: string; nodeJson?: string },
    meta: { reason: string; rolledBack?: boolean; rolledBackFrom?: bigint },
  ): Promise<void> {
    const generation = this.state.generation + 1;
    const config = create(TelemetryConfigSchema, {
      generation: BigInt(generation),
      profile,
      rolledBack: meta.rolledBack ?? false,
      rolledBackFrom: meta.rolledBackFrom ?? 0n,
      reason: meta.reason,
      publishedAt: timestampFromMs(Date.now()),
    });
    this.state.generation = generation;
    this.state.effective = {
      generation,
      configJson: encodeJsonText(TelemetryConfigSchema, config),
      ...sources,
    };
    await this.store.save(this.state);
    await this.putEffective(config);
    try {
      this.client.publish(TelemetryApi.evt.config, config);
    } catch (err) {
      this.logger.warn(`evt.config not published: ${String(err)}`, LOG);
    }
    this.logger.log(`generation ${generation} in force: ${meta.reason}`, LOG);
    this.reportHealth();
  }

  private async putEffective(config: TelemetryConfig): Promise<void> {
    try {
      await this.stores.status.put(
        kvKeys.telemetryEffective(this.ctx.nodeId),
        encode(TelemetryConfigSchema, config),
      );
    } catch (err) {
      // The event carries the same configuration; the KV copy is written again at the next generation.
      this.logger.warn(`effective configuration not written to KV: ${String(err)}`, LOG);
    }
  }

  private reasons(): string[] {
    const reasons = Object.values(this.state.rejections).map((j) => {
      const r = decodeJsonText(TelemetryRejectionSchema, j);
      return `${r.key} revision ${r.revision} rejected: ${r.reason}`;
    });
    if (this.state.applyProblem) reasons.push(this.state.applyProblem);
    return reasons;
  }

  private reportHealth(): void {
    const reasons = this.reasons();
    if (reasons.length) this.status.degraded(...reasons);
    else this.status.ready();
  }

  private config(stored: StoredConfig): TelemetryConfig {
    return decodeJsonText(TelemetryConfigSchema, stored.configJson);
  }

  private profile(json: string | undefined): TelemetryProfile | undefined {
    return json === undefined ? undefined : decodeJsonText(TelemetryProfileSchema, json);
  }
}
