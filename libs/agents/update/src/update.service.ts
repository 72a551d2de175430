/**
 * The platform-update agent's service: it decodes a request into an observation (with the facts it
 * reads for it: slots, boot time, the manifest's verdict), runs it through the shared DecisionEngine
 * with the pure `decide` of domain/update-decide.ts, and carries out the effects that come back. The
 * engine persists each new record BEFORE its effects, so a start after kill -9 resumes (download,
 * install) or settles (reboot, commit, rollback); every effect here is idempotent. Rules the effects
 * keep:
 *   - a manifest is verified before a byte is fetched; the image is verified before and after it is
 *     written; only the inactive slot and its boot entry are ever written;
 *   - the target slot's old entry is removed before its bytes change, and the new entry is written
 *     (with boot counting) only after the read-back matches, so no boot can reach a half-written slot.
 * Downloads and installs run in the background (outside the engine's queue, so cmd.abort can stop
 * them) and report their steps and their end as observations, and their progress through evt.progress.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  ContractError,
  encode,
  ErrorCode,
  kvKeys,
  FailureReason,
  failureReasonFromProto,
  failureReasonToProto,
  OepStatus,
  UpdateApi,
  UpdateState,
  UpdateStatusSchema,
  type UpdateManifest,
  type UpdateStatus,
} from '@outpost/contracts';
import { BusClient, type BusStores } from '@outpost/bus';
import {
  AGENT_CONTEXT,
  AGENT_LOGGER,
  AGENT_SETTINGS,
  BUS_STORES,
  DecisionEngine,
  StatusReporter,
  type AgentContext,
  type SettingsOf,
} from '@outpost/agent-runtime';
import type { SlotLayout } from '@outpost/device';
import type { updateSettings } from './config/update.settings.js';
import { loadTrustedKeys } from './config/trusted-keys.js';
import {
  applyCommit,
  espShortfall,
  installBootFiles,
  invalidateTarget,
  markEntryBad,
} from './boot/boot-actions.js';
import { bootableEntryOf, entrySpecFor, filesOfEntry } from './domain/boot-entry.js';
import {
  BOOT_FILE_NAMES,
  bootFileUrl,
  imageFormat,
  manifestProblems,
  verifyManifest,
  type TrustedKey,
} from './domain/manifest.js';
import { ProgressMeter } from './domain/progress.js';
import {
  updateDecider,
  versionOf,
  type Origin,
  type SlotsRead,
  type UpdateEffect,
  type UpdateObservation,
} from './domain/update-decide.js';
import { initialRecord, type UpdateRecord } from './domain/update-record.js';
import { IllegalTransitionError, OEP_STATUS, type InstallStep, type Reason } from './domain/update-state.js';
import { discardStaged, downloadImage, DownloadError, STAGED_IMAGE } from './image/image-download.js';
import { hashRegion, ImageTooLargeError, writeImageToTarget } from './image/slot-writer.js';
import { UpdateStateStore } from './state/update-state.store.js';

type UpdateSettings = SettingsOf<typeof updateSettings>;

/** Thrown into background work by cmd.abort or shutdown, so it stops without a transition of its own. */
class Stopped extends Error {
  override readonly name = 'Stopped';
}

/** A start that must not report ready: a pending rollback that is stuck or whose reboot failed. */
class NotReady extends Error {
  override readonly name = 'NotReady';
}

@Injectable()
export class UpdateService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly dir: string;
  private readonly store: UpdateStateStore;
  private readonly engine: DecisionEngine<UpdateRecord, UpdateObservation, UpdateEffect>;
  private keys: TrustedKey[] = [];
  private layout?: SlotLayout;
  private work?: Promise<void>;
  private workAbort?: AbortController;
  private progress = { bytes: 0, total: 0 };

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: UpdateSettings,
    private readonly client: BusClient,
    private readonly status: StatusReporter,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
    @Inject(BUS_STORES) private readonly stores: BusStores,
  ) {
    this.dir = join(ctx.paths.stateDir, 'update');
    this.store = new UpdateStateStore(this.dir);
    this.engine = new DecisionEngine(initialRecord(new Date()), {
      decide: updateDecider({
        maxStarts: settings.maxStarts,
        maxRollbackReboots: settings.maxRollbackReboots,
      }),
      persist: (record) => this.store.save(record),
      publish: (record, previous) => this.announce(record, previous),
      onPublishError: (err) => this.logger.warn(`update status not published: ${String(err)}`, 'Update'),
      execute: (effect) => this.execute(effect),
    });
  }

  private get record(): UpdateRecord {
    return this.engine.record;
  }

  async onModuleInit(): Promise<void> {
    this.keys = await loadTrustedKeys(
      this.settings.trustedKeys,
      this.settings.trustedKeysDir,
      join(this.ctx.paths.configDir, 'update-keys.d'),
    );
    if (this.keys.length === 0)
      this.logger.warn('no trusted keys configured: every manifest will be refused', 'Update');
    else this.logger.log(`trusting keys ${this.keys.map((k) => k.id).join(', ')}`, 'Update');
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.recover();
  }

  async onModuleDestroy(): Promise<void> {
    this.workAbort?.abort(new Stopped('agent stopping'));
    await this.work;
  }

  // ---- commands: decode, gather the facts, decide ---------------------------------------------

  current(): UpdateStatus {
    return this.toStatus();
  }

  async download(manifest: UpdateManifest | undefined): Promise<UpdateStatus> {
    if (!manifest) throw new ContractError(ErrorCode.INVALID_ARGUMENT, 'manifest: required');
    const problems = manifestProblems(manifest);
    if (manifest.bootFiles.length === 0 && this.ctx.device.bootFilesRequired)
      problems.push(
        'bootFiles: required on this node (it boots the kernel its entry names from the ESP; without ' +
          "the new slot's kernel it would boot a stale one with the new root file system)",
      );
    return this.command(async () => {
      const slots = await this.slotFacts();
      return {
        kind: 'cmd.download',
        manifest,
        problems,
        verdict: verifyManifest(manifest, this.keys),
        slots,
        espShortfall:
          'unreadable' in slots
            ? ''
            : await espShortfall(this.ctx.device.bootLoader().espDir, manifest, slots.inactive),
      };
    });
  }

  install(): Promise<UpdateStatus> {
    return this.command(async () => ({ kind: 'cmd.install', slots: await this.slotFacts() }));
  }

  async abort(): Promise<UpdateStatus> {
    // Stop background work first (outside the queue: the work itself submits its steps).
    if (this.record.state === 'DOWNLOADING' || this.record.state === 'INSTALLING') {
      this.workAbort?.abort(new Stopped('aborted by command'));
      await this.work;
    }
    return this.command(() => ({ kind: 'cmd.abort' }));
  }

  reboot(): Promise<UpdateStatus> {
    return this.command(async (record) => ({
      kind: 'cmd.reboot',
      entryExists: Boolean(await this.ctx.device.bootLoader().find(record.entryId ?? '')),
    }));
  }

  commit(): Promise<UpdateStatus> {
    return this.command(async () => ({
      kind: 'cmd.commit',
      activeSlot: (await this.slots(true)).active.slot,
    }));
  }

  rollback(reason: FailureReason, detail: string): Promise<UpdateStatus> {
    return this.command(() => ({
      kind: 'cmd.rollback',
      reason: failureReasonFromProto(reason) ?? 'rollback-requested',
      detail,
    }));
  }

  /**
   * Decides a command's observation and answers with the status after it (its effects and their
   * follow-ups done). The facts are read when the command's turn comes, after every earlier one.
   */
  private async command(
    observe: (record: UpdateRecord) => UpdateObservation | Promise<UpdateObservation>,
  ): Promise<UpdateStatus> {
    try {
      await this.engine.observe(observe);
    } catch (err) {
      if (err instanceof IllegalTransitionError) {
        this.logger.error(err.message, 'Update');
        throw new ContractError(ErrorCode.FAILED_PRECONDITION, err.message);
      }
      throw err;
    }
    return this.toStatus();
  }

  // ---- effects --------------------------------------------------------------------------------

  /** Carries out one effect of a decision; returns the observation of its outcome, if it has one. */
  private async execute(effect: UpdateEffect): Promise<UpdateObservation | void> {
    switch (effect.kind) {
      case 'refuse':
        throw new ContractError(effect.code, effect.message, effect.details);
      case 'log':
        this.logger.log(effect.message, 'Update');
        return;
      case 'crash-point':
        return this.crashPoint(effect.step);
      case 'discard-staged':
        await discardStaged(this.dir);
        return effect.then;
      case 'start-download':
        return this.startWork((signal) => this.runDownload(signal));
      case 'start-install':
        return this.startWork((signal) => this.runInstall(signal));
      case 'clean-up':
        return this.cleanUp();
      case 'ensure-one-shot': {
        const loader = this.ctx.device.bootLoader();
        const entryId = this.record.entryId ?? '';
        if ((await loader.oneShot()) !== entryId) await loader.setOneShot(entryId);
        return { kind: 'one-shot-set' };
      }
      case 'reboot-into-target':
        return this.rebootIntoTarget();
      case 'apply-commit':
        return this.applyCommit();
      case 'mark-target-bad':
        await this.atStart(effect.origin, () => this.markTargetBad());
        return effect.then;
      case 'check-rollback': {
        const layout = await this.slots(true);
        return {
          kind: 'rollback-pending',
          origin: effect.origin,
          activeSlot: layout.active.slot,
          bootedAt: await this.bootedAt(),
        };
      }
      case 'reboot-into-previous':
        return this.atStart(effect.origin, () => this.rebootIntoPrevious());
      case 'rollback-stuck':
        this.logger.error(effect.message, 'Update');
        await this.markTargetBad().catch((err: unknown) => this.logger.error(err, 'Update'));
        this.status.degraded(effect.message);
        if (effect.origin === 'start') throw new NotReady(effect.message);
        throw new ContractError(ErrorCode.FAILED_PRECONDITION, effect.message);
    }
  }

  /** A rollback step at start that fails is said loudly; cmd.rollback or the next start retries it. */
  private async atStart(origin: Origin | undefined, run: () => Promise<void>): Promise<void> {
    if (origin !== 'start') return run();
    try {
      await run();
    } catch (err) {
      const message = `rollback reboot into slot ${this.record.sourceSlot} failed: ${String(err)}`;
      this.logger.error(message, 'Update');
      this.status.degraded(message);
      throw new NotReady(message);
    }
  }

  private async rebootIntoTarget(): Promise<UpdateObservation | void> {
    const reason = `update ${versionOf(this.record)}: boot slot ${this.record.targetSlot} (${this.record.entryId})`;
    this.logger.log(`rebooting: ${reason}`, 'Update');
    try {
      await this.ctx.device.reboot(reason);
    } catch (err) {
      return { kind: 'reboot-failed', message: (err as Error).message };
    }
  }

  // ---- background work ------------------------------------------------------------------------

  private async runDownload(signal: AbortSignal): Promise<void> {
    const manifest = this.manifest();
    this.crashPoint('download:start');
    const size = Number(manifest.size);
    const meter = new ProgressMeter(size, this.settings.progressIntervalMs, Date.now());
    let outcome: UpdateObservation;
    try {
      await downloadImage(
        {
          url: manifest.imageUrl,
          format: imageFormat(manifest.imageUrl),
          size,
          sha256: manifest.sha256,
          dir: this.dir,
          attempts: this.settings.downloadAttempts,
          idleTimeoutMs: this.settings.downloadIdleTimeoutMs,
        },
        {
          signal,
          onProgress: (bytes) => this.reportProgress('download', meter, bytes, size),
          onPartial: () => this.crashPoint('download:partial'),
          onStaged: () => this.crashPoint('download:staged'),
          onRetry: (attempt, err) =>
            this.logger.warn(`download attempt ${attempt} failed, resuming: ${err.message}`, 'Update'),
        },
      );
      this.crashPoint('download:boot');
      await this.downloadBootFiles(manifest, signal);
      outcome = { kind: 'download-done' };
    } catch (err) {
      if (signal.aborted) return;
      const reason = err instanceof DownloadError ? err.reason : 'download';
      outcome = { kind: 'work-failed', reason, message: (err as Error).message };
    }
    await this.engine.submit(outcome);
  }

  /** The boot files, one after the other, each resumable and verified like the image. */
  private async downloadBootFiles(manifest: UpdateManifest, signal: AbortSignal): Promise<void> {
    for (const file of manifest.bootFiles) {
      const url = bootFileUrl(file, manifest.imageUrl);
      await downloadImage(
        {
          url,
          format: imageFormat(url),
          size: Number(file.size),
          sha256: file.sha256,
          dir: this.dir,
          attempts: this.settings.downloadAttempts,
          idleTimeoutMs: this.settings.downloadIdleTimeoutMs,
          name: BOOT_FILE_NAMES[file.kind],
        },
        {
          signal,
          onRetry: (attempt, err) =>
            this.logger.warn(`boot file attempt ${attempt} failed, resuming: ${err.message}`, 'Update'),
        },
      );
    }
  }

  private async runInstall(signal: AbortSignal): Promise<void> {
    const manifest = this.manifest();
    const size = Number(manifest.size);
    let failure: Reason = 'boot-config';
    try {
      const layout = await this.slots(true);
      const target = layout.inactive;
      if (target.slot !== this.record.targetSlot || target.slot === layout.active.slot)
        throw new Error(
          `the inactive slot is now ${target.slot}, the install targets ${this.record.targetSlot}`,
        );
      this.crashPoint('install:invalidate');
      await invalidateTarget(this.ctx.device.bootLoader(), layout);

      await this.step('write', signal);
      failure = 'write';
      const meter = new ProgressMeter(size, this.settings.progressIntervalMs, Date.now());
      const bufferSize = this.settings.writeBufferMiB * 1024 * 1024;
      const written = await writeImageToTarget(join(this.dir, STAGED_IMAGE), target, {
        bufferSize,
        signal,
        onProgress: (bytes) => this.reportProgress('install', meter, bytes, size),
        afterFirstWrite: () => this.crashPoint('install:write'),
      });
      if (written.bytes !== size || written.sha256 !== manifest.sha256) {
        failure = 'checksum';
        throw new Error(`the staged image changed since it was verified (sha256 ${written.sha256})`);
      }

      await this.step('verify', signal);
      this.crashPoint('install:verify');
      const back = await hashRegion(target.path, target.offset, size, { bufferSize, signal });
      if (back !== manifest.sha256) {
        failure = 'checksum';
        throw new Error(`read-back of slot ${target.slot} hashes ${back}, expected ${manifest.sha256}`);
      }

      failure = 'boot-config';
      const loader = this.ctx.device.bootLoader();
      const activeEntry = bootableEntryOf(await loader.entries(), layout.active.slot);
      await this.step('boot', signal);
      await installBootFiles(
        loader,
        manifest,
        {
          slot: target.slot,
          stagingDir: this.dir,
          activeFiles: activeEntry ? filesOfEntry(activeEntry) : [],
        },
        () => this.crashPoint('install:boot'),
      );

      await this.step('entry', signal);
      this.crashPoint('install:entry');
      const initrd = manifest.bootFiles.some((f) => BOOT_FILE_NAMES[f.kind] === 'initrd.img');
      const spec = entrySpecFor(target.slot, manifest.version, activeEntry, { initrd });
      await loader.writeEntry(spec, this.settings.bootTries);

      await this.step('oneshot', signal);
      this.crashPoint('install:oneshot');
      await loader.setOneShot(spec.id);
      this.crashPoint('installed');
      await this.engine.submit({ kind: 'install-done', entryId: spec.id }, signal);
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ImageTooLargeError) failure = 'insufficient-storage';
      await this.engine.submit({ kind: 'work-failed', reason: failure, message: (err as Error).message });
    }
  }

  // ---- start-up -------------------------------------------------------------------------------

  private async recover(): Promise<void> {
    let loaded: UpdateRecord | undefined;
    try {
      loaded = await this.store.load();
    } catch (err) {
      this.logger.error(`update state unreadable, starting IDLE: ${(err as Error).message}`, 'Update');
    }
    await this.engine.restore(loaded ?? initialRecord(new Date()));
    let layout: SlotLayout;
    try {
      layout = await this.slots(true);
    } catch (err) {
      this.status.degraded(`no A/B slots: ${(err as Error).message}`);
      return;
    }
    const r = this.record;
    this.logger.log(
      `update state ${r.state}${r.step ? `/${r.step}` : ''} on slot ${layout.active.slot}`,
      'Update',
    );
    try {
      await this.engine.observe(async (record) => ({
        kind: 'started',
        activeSlot: layout.active.slot,
        bootedAt: await this.bootedAt(),
        targetEntryFile: record.entryId
          ? (await this.ctx.device.bootLoader().find(record.entryId))?.fileName
          : undefined,
      }));
    } catch (err) {
      if (err instanceof NotReady) return;
      throw err;
    }
    this.status.ready();
  }

  /** Wall time (ms) the machine booted, from the host uptime; undefined if it cannot be known. */
  private async bootedAt(): Promise<number | undefined> {
    const uptime = await this.ctx.device.hostUptimeSeconds();
    return uptime === undefined ? undefined : Date.now() - uptime * 1000;
  }

  // ---- idempotent side effects ----------------------------------------------------------------

  private applyCommit(): Promise<void> {
    return applyCommit(this.ctx.device.bootLoader(), this.record.entryId ?? '');
  }

  private markTargetBad(): Promise<void> {
    return markEntryBad(this.ctx.device.bootLoader(), this.record.entryId ?? '', async () => {
      return (await this.slots(true)).active.slot;
    });
  }

  private async rebootIntoPrevious(): Promise<void> {
    await this.markTargetBad();
    const loader = this.ctx.device.bootLoader();
    const previous = bootableEntryOf(await loader.entries(), this.record.sourceSlot ?? '');
    if (previous) await loader.setDefault(previous.id);
    const reason = `update ${versionOf(this.record)} rolled back: boot slot ${this.record.sourceSlot}`;
    this.logger.warn(`rebooting: ${reason}`, 'Update');
    await this.ctx.device.reboot(reason);
  }

  /** After FAILED: nothing staged, and an install that had begun leaves no way to boot its slot. */
  private async cleanUp(): Promise<void> {
    await discardStaged(this.dir);
    if (!this.record.installStarted || !this.record.targetSlot) return;
    const layout = await this.slots(true);
    if (layout.active.slot === this.record.targetSlot) return; // never touch what runs
    await invalidateTarget(this.ctx.device.bootLoader(), layout);
  }

  // ---- state ----------------------------------------------------------------------------------

  /**
   * After a new record is persisted: a transition is logged, published as evt.state and mirrored to
   * KV; a change inside a state (rollback counters) is mirrored to KV only; the step and start
   * counter of resumable work are not announced.
   */
  private announce(next: UpdateRecord, previous: UpdateRecord): void {
    const transition =
      next.state !== previous.state ||
      next.since !== previous.since ||
      next.reason !== previous.reason ||
      next.detail !== previous.detail;
    if (!transition) {
      if (next.step === previous.step && next.starts === previous.starts) this.mirrorToKv();
      return;
    }
    const { state: from } = previous;
    const to = next.state;
    if (to !== 'DOWNLOADING' && to !== 'INSTALLING') this.progress = { bytes: 0, total: 0 };
    const line = `update ${from} -> ${to}${next.reason ? ` (${next.reason})` : ''}${next.detail ? `: ${next.detail}` : ''}`;
    if (to === 'FAILED' || to === 'ROLLED_BACK') this.logger.warn(line, 'Update');
    else this.logger.log(line, 'Update');
    this.publish(() =>
      this.client.publish(UpdateApi.evt.state, { from: UpdateState[from], status: this.toStatus() }),
    );
    this.mirrorToKv();
  }

  /** The latest status in KV edge_status (<nodeId>.update.state), for `nats kv get` and watchers. */
  private mirrorToKv(): void {
    const c = this.client.connection;
    if (c.isClosed() || c.isDraining()) return;
    const status = create(UpdateStatusSchema, this.toStatus());
    this.stores.status
      .put(kvKeys.updateState(this.ctx.nodeId), encode(UpdateStatusSchema, status))
      .catch((err: unknown) => {
        this.logger.warn(`update status not written to KV: ${String(err)}`, 'Update');
      });
  }

  /** INSTALLING reached `step`: persisted before its side effect, unless cmd.abort came first. */
  private async step(step: InstallStep, signal: AbortSignal): Promise<void> {
    await this.engine.submit({ kind: 'install-step', step }, signal);
  }

  private startWork(run: (signal: AbortSignal) => Promise<void>): void {
    const controller = new AbortController();
    this.workAbort = controller;
    this.work = run(controller.signal).catch((err: unknown) => {
      this.logger.error(err, 'Update');
    });
  }

  private async slots(fresh = false): Promise<SlotLayout> {
    if (fresh || !this.layout) this.layout = await this.ctx.device.slots();
    return this.layout;
  }

  private async slotFacts(): Promise<SlotsRead> {
    try {
      const layout = await this.slots();
      return {
        active: layout.active.slot,
        inactive: layout.inactive.slot,
        inactiveSize: layout.inactive.size,
      };
    } catch (err) {
      return { unreadable: (err as Error).message };
    }
  }

  private manifest(): UpdateManifest {
    const manifest = this.record.manifest;
    if (!manifest) throw new Error(`no manifest in ${this.record.state}`);
    return manifest;
  }

  private reportProgress(phase: 'download' | 'install', meter: ProgressMeter, bytes: number, total: number) {
    this.progress = { bytes, total };
    const report = meter.update(bytes, Date.now());
    if (!report) return;
    this.publish(() =>
      this.client.publish(UpdateApi.evt.progress, {
        version: versionOf(this.record),
        phase,
        bytes: BigInt(report.bytes),
        total: BigInt(report.total),
        rate: report.rate,
        eta:
          report.etaSeconds === undefined ? undefined : durationFromMs(Math.round(report.etaSeconds * 1000)),
      }),
    );
  }

  private publish(send: () => void): void {
    const c = this.client.connection;
    if (c.isClosed() || c.isDraining()) return;
    try {
      send();
    } catch (err) {
      this.logger.warn(`update event not published: ${String(err)}`, 'Update');
    }
  }

  /** The test hook: SIGKILL at a named step, to prove a restart resumes or fails cleanly from there. */
  private crashPoint(step: string): void {
    if (this.settings.crashAt !== step) return;
    this.logger.warn(`crashAt=${step}: SIGKILL now`, 'Update');
    process.kill(process.pid, 'SIGKILL');
  }

  private toStatus(): UpdateStatus {
    const r = this.record;
    const inFlight = r.state === 'DOWNLOADING' || r.state === 'INSTALLING';
    return create(UpdateStatusSchema, {
      state: UpdateState[r.state],
      reason: failureReasonToProto(r.reason),
      detail: r.detail,
      version: versionOf(r),
      oepStatus: OepStatus[OEP_STATUS[r.state]],
      activeSlot: this.layout?.active.slot ?? '',
      targetSlot: r.targetSlot ?? '',
      entryId: r.entryId ?? '',
      bytesDone: BigInt(inFlight ? this.progress.bytes : 0),
      bytesTotal: r.manifest?.size ?? 0n,
      since: timestampFromDate(new Date(r.since)),
      step: r.step ?? '',
      starts: r.starts,
    });
  }
}
