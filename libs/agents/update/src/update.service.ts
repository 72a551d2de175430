/**
 * The platform-update engine: drives the state machine of domain/ against the device, the staging
 * directory and the bus. Rules it keeps:
 *   - the new state (or step) is persisted BEFORE its side effect, and every side effect is
 *     idempotent, so a start after kill -9 resumes (download, install) or settles (reboot, commit);
 *   - a manifest is verified before a byte is fetched; the image is verified before and after it is
 *     written; only the inactive slot and its boot entry are ever written;
 *   - the target slot's old entry is removed before its bytes change, and the new entry is written
 *     (with boot counting) only after the read-back matches, so no boot can reach a half-written slot;
 *   - after the reboot, the slot that really booted is checked: a silent fallback is ROLLED_BACK.
 * Commands and transitions run one at a time (`serial`); downloads and installs run in the background
 * and report through evt.state and evt.progress.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { create, fromJson, toJson } from '@bufbuild/protobuf';
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
  UpdateManifestSchema,
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
  StatusReporter,
  type AgentContext,
  type SettingsOf,
} from '@outpost/agent-runtime';
import { matchesPattern, type SlotLayout } from '@outpost/device';
import type { updateSettings } from './config/update.settings.js';
import { loadTrustedKeys } from './config/trusted-keys.js';
import {
  bootableEntryOf,
  bootFilePath,
  entriesBooting,
  entryIdFor,
  entrySpecFor,
  filesOfEntry,
} from './domain/boot-entry.js';
import {
  BOOT_FILE_NAMES,
  bootFileUrl,
  canonicalManifest,
  imageFormat,
  manifestProblems,
  verifyManifest,
  type TrustedKey,
} from './domain/manifest.js';
import { ProgressMeter } from './domain/progress.js';
import { atStep, enter, initialRecord, type Entering, type UpdateRecord } from './domain/update-record.js';
import {
  canStartUpdate,
  isRestartLoop,
  OEP_STATUS,
  resumesWork,
  type Reason,
  type StateName,
} from './domain/update-state.js';
import {
  discardStaged,
  downloadImage,
  DownloadError,
  STAGED_IMAGE,
  stagedBootFile,
} from './image/image-download.js';
import { hashRegion, ImageTooLargeError, writeImageToTarget } from './image/slot-writer.js';
import { UpdateStateStore } from './state/update-state.store.js';

type UpdateSettings = SettingsOf<typeof updateSettings>;

/** Thrown into background work by cmd.abort or shutdown, so it stops without a transition of its own. */
class Stopped extends Error {
  override readonly name = 'Stopped';
}

@Injectable()
export class UpdateService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly dir: string;
  private readonly store: UpdateStateStore;
  private record: UpdateRecord = initialRecord(new Date());
  private keys: TrustedKey[] = [];
  private layout?: SlotLayout;
  private queue: Promise<unknown> = Promise.resolve();
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
    await this.serial(() => this.recover());
  }

  async onModuleDestroy(): Promise<void> {
    this.workAbort?.abort(new Stopped('agent stopping'));
    await this.work;
  }

  // ---- commands -------------------------------------------------------------------------------

  current(): UpdateStatus {
    return this.toStatus();
  }

  download(manifest: UpdateManifest | undefined): Promise<UpdateStatus> {
    return this.serial(async () => {
      if (!manifest) throw new ContractError(ErrorCode.INVALID_ARGUMENT, 'manifest: required');
      const problems = manifestProblems(manifest);
      if (manifest.bootFiles.length === 0 && this.ctx.device.bootFilesRequired)
        problems.push(
          'bootFiles: required on this node (it boots the kernel its entry names from the ESP; without ' +
            "the new slot's kernel it would boot a stale one with the new root file system)",
        );
      if (problems.length > 0)
        throw new ContractError(ErrorCode.INVALID_ARGUMENT, `manifest: ${problems.join('; ')}`, problems);
      const state = this.record.state;
      if (state === 'ROLLED_BACK' && this.record.rebootPending)
        throw new ContractError(
          ErrorCode.FAILED_PRECONDITION,
          `the rollback of ${this.version()} to slot ${this.record.sourceSlot} has not rebooted yet: slot ${this.record.sourceSlot} is the one a new update would overwrite`,
        );
      if ((state === 'DOWNLOADING' || state === 'DOWNLOADED') && this.isCurrent(manifest))
        return this.toStatus(); // a resent request: at-least-once delivery
      if (!canStartUpdate(state))
        throw new ContractError(
          ErrorCode.FAILED_PRECONDITION,
          `an update of ${this.version()} is ${state}: abort, commit or roll it back first`,
        );
      const verdict = verifyManifest(manifest, this.keys);
      if (!verdict.ok) {
        await this.fail('signature', `manifest ${manifest.version} refused: ${verdict.message}`, {
          manifest: toJson(UpdateManifestSchema, manifest) as Record<string, unknown>,
        });
        throw new ContractError(ErrorCode.PERMISSION_DENIED, `manifest refused: ${verdict.message}`);
      }
      const layout = await this.slots();
      if (manifest.size > BigInt(layout.inactive.size)) {
        const message = `size ${manifest.size}: larger than slot ${layout.inactive.slot} (${layout.inactive.size} bytes)`;
        await this.fail('insufficient-storage', message);
        throw new ContractError(ErrorCode.INVALID_ARGUMENT, message);
      }
      const espShort = await this.espShortfall(manifest, layout.inactive.slot);
      if (espShort) {
        await this.fail('insufficient-storage', espShort);
        throw new ContractError(ErrorCode.INVALID_ARGUMENT, espShort);
      }
      await discardStaged(this.dir);
      this.logger.log(`manifest ${manifest.version} signed by trusted key ${verdict.keyId}`, 'Update');
      await this.go('DOWNLOADING', {
        manifest: toJson(UpdateManifestSchema, manifest) as Record<string, unknown>,
        sourceSlot: layout.active.slot,
        targetSlot: layout.inactive.slot,
        entryId: entryIdFor(layout.inactive.slot),
        installStarted: false,
        rebootRequestedAt: undefined,
        rebootPending: undefined,
        rollbackReboots: undefined,
        rollbackRebootAt: undefined,
      });
      this.startWork((signal) => this.runDownload(signal));
      return this.toStatus();
    });
  }

  install(): Promise<UpdateStatus> {
    return this.serial(async () => {
      const state = this.record.state;
      if (state === 'INSTALLING' || state === 'INSTALLED') return this.toStatus();
      if (state !== 'DOWNLOADED')
        throw new ContractError(
          ErrorCode.FAILED_PRECONDITION,
          `install needs a verified download (DOWNLOADED); the update is ${state}`,
        );
      const layout = await this.slots();
      await this.go('INSTALLING', {
        step: 'invalidate',
        sourceSlot: layout.active.slot,
        targetSlot: layout.inactive.slot,
        entryId: entryIdFor(layout.inactive.slot),
        installStarted: true,
      });
      this.startWork((signal) => this.runInstall(signal));
      return this.toStatus();
    });
  }

  async abort(): Promise<UpdateStatus> {
    // Stop background work first (outside the queue: the work itself queues its transitions).
    if (this.record.state === 'DOWNLOADING' || this.record.state === 'INSTALLING') {
      this.workAbort?.abort(new Stopped('aborted by command'));
      await this.work;
    }
    return this.serial(async () => {
      const state = this.record.state;
      if (state === 'FAILED' && this.record.reason === 'aborted') return this.toStatus();
      if (!['DOWNLOADING', 'DOWNLOADED', 'INSTALLING', 'INSTALLED'].includes(state))
        throw new ContractError(
          ErrorCode.FAILED_PRECONDITION,
          `nothing to abort: the update is ${state}${state === 'VERIFYING' ? ' (roll it back instead)' : ''}`,
        );
      await this.fail('aborted', `aborted in ${state}`);
      return this.toStatus();
    });
  }

  reboot(): Promise<UpdateStatus> {
    return this.serial(async () => {
      if (this.record.state === 'REBOOTING') return this.toStatus();
      if (this.record.state !== 'INSTALLED')
        throw new ContractError(
          ErrorCode.FAILED_PRECONDITION,
          `reboot needs an installed update (INSTALLED); the update is ${this.record.state}`,
        );
      const entryId = this.record.entryId ?? '';
      const loader = this.ctx.device.bootLoader();
      if (!(await loader.find(entryId))) {
        await this.fail('boot-config', `boot entry ${entryId} is gone`);
        throw new ContractError(
          ErrorCode.FAILED_PRECONDITION,
          `boot entry ${entryId} is gone: install again`,
        );
      }
      if ((await loader.oneShot()) !== entryId) await loader.setOneShot(entryId);
      await this.go('REBOOTING', { rebootRequestedAt: Date.now() });
      this.crashPoint('reboot');
      const reason = `update ${this.version()}: boot slot ${this.record.targetSlot} (${entryId})`;
      this.logger.log(`rebooting: ${reason}`, 'Update');
      try {
        await this.ctx.device.reboot(reason);
      } catch (err) {
        await this.go('INSTALLED', { detail: `reboot failed: ${(err as Error).message}` });
        throw new ContractError(ErrorCode.UNAVAILABLE, `reboot failed: ${(err as Error).message}`);
      }
      return this.toStatus();
    });
  }

  commit(): Promise<UpdateStatus> {
    return this.serial(async () => {
      const state = this.record.state;
      if (state !== 'VERIFYING' && state !== 'COMMITTED')
        throw new ContractError(
          ErrorCode.FAILED_PRECONDITION,
          `commit needs a booted update (VERIFYING); the update is ${state}`,
        );
      if (state === 'VERIFYING') {
        const layout = await this.slots(true);
        if (layout.active.slot !== this.record.targetSlot) {
          await this.fallenBack(layout);
          throw new ContractError(
            ErrorCode.FAILED_PRECONDITION,
            `the node runs slot ${layout.active.slot}, not the updated ${this.record.targetSlot}: rolled back`,
          );
        }
        await this.go('COMMITTED', { detail: `slot ${this.record.targetSlot} is the default` });
        this.crashPoint('commit');
      }
      await this.applyCommit();
      return this.toStatus();
    });
  }

  rollback(reason: FailureReason, detail: string): Promise<UpdateStatus> {
    return this.serial(async () => {
      const state = this.record.state;
      if (state === 'ROLLED_BACK' && this.record.rebootPending) {
        // A resent request, or the reboot did not happen.
        const stuck = await this.finishRollback();
        if (stuck) throw new ContractError(ErrorCode.FAILED_PRECONDITION, stuck);
        return this.toStatus();
      }
      // Resent after the rollback finished (the sender saw an older status): it is done.
      if (state === 'ROLLED_BACK' && this.record.rollbackReboots !== undefined) return this.toStatus();
      if (state !== 'VERIFYING')
        throw new ContractError(
          ErrorCode.FAILED_PRECONDITION,
          `rollback needs a booted update (VERIFYING); the update is ${state}`,
        );
      await this.go('ROLLED_BACK', {
        reason: failureReasonFromProto(reason) ?? 'rollback-requested',
        detail: detail || 'rollback requested',
        rebootPending: true,
        rollbackReboots: 0,
        rollbackRebootAt: undefined,
      });
      this.crashPoint('rollback');
      const stuck = await this.finishRollback();
      if (stuck) throw new ContractError(ErrorCode.FAILED_PRECONDITION, stuck);
      return this.toStatus();
    });
  }

  // ---- background work ------------------------------------------------------------------------

  private async runDownload(signal: AbortSignal): Promise<void> {
    const manifest = this.manifest();
    this.crashPoint('download:start');
    const size = Number(manifest.size);
    const meter = new ProgressMeter(size, this.settings.progressIntervalMs, Date.now());
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
      const boot = manifest.bootFiles.length ? ` and ${manifest.bootFiles.length} boot file(s)` : '';
      await this.serial(() =>
        this.go('DOWNLOADED', { detail: `staged ${size} bytes${boot}, sha256 verified` }),
      );
    } catch (err) {
      if (signal.aborted) return;
      const reason = err instanceof DownloadError ? err.reason : 'download';
      await this.serial(() => this.fail(reason, (err as Error).message));
    }
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

  /**
   * Why the ESP cannot take the boot files ('' when it can): its free space plus what the target
   * slot's old files free must hold the new ones.
   */
  private async espShortfall(manifest: UpdateManifest, slot: string): Promise<string> {
    if (manifest.bootFiles.length === 0) return '';
    const esp = this.ctx.device.bootLoader().espDir;
    const need = manifest.bootFiles.reduce((sum, f) => sum + Number(f.size), 0);
    try {
      const s = await statfs(esp);
      const free = Number(s.bavail) * Number(s.bsize);
      let reclaimed = 0;
      for (const name of Object.values(BOOT_FILE_NAMES))
        reclaimed += await stat(join(esp, bootFilePath(slot, name))).then(
          (st) => st.size,
          () => 0,
        );
      if (free + reclaimed >= need) return '';
      return `the ESP (${esp}) has ${free} bytes free (+${reclaimed} of slot ${slot}'s old boot files), the boot files need ${need}`;
    } catch (err) {
      return `the ESP (${esp}) cannot be checked: ${(err as Error).message}`;
    }
  }

  /**
   * Puts the staged boot files on the ESP under the target slot's own names, atomically, before its
   * entry exists. Refuses a path the active slot's entry boots from.
   */
  private async installBootFiles(manifest: UpdateManifest, slot: string, activeFiles: string[]) {
    const loader = this.ctx.device.bootLoader();
    for (const file of manifest.bootFiles) {
      const name = BOOT_FILE_NAMES[file.kind] ?? '';
      const path = bootFilePath(slot, name);
      if (activeFiles.includes(path))
        throw new Error(`${path} is what the running slot boots: it is never written`);
      await loader.installFile(path, join(this.dir, stagedBootFile(name)), file.sha256, {
        beforeRename: () => this.crashPoint('install:boot'),
      });
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
      await this.invalidateTarget(layout);

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
      await this.installBootFiles(manifest, target.slot, activeEntry ? filesOfEntry(activeEntry) : []);

      await this.step('entry', signal);
      this.crashPoint('install:entry');
      const initrd = manifest.bootFiles.some((f) => BOOT_FILE_NAMES[f.kind] === 'initrd.img');
      const spec = entrySpecFor(target.slot, manifest.version, activeEntry, { initrd });
      await loader.writeEntry(spec, this.settings.bootTries);

      await this.step('oneshot', signal);
      this.crashPoint('install:oneshot');
      await loader.setOneShot(spec.id);
      this.crashPoint('installed');
      await this.serial(async () => {
        signal.throwIfAborted();
        await this.go('INSTALLED', {
          detail: `slot ${target.slot} written and verified; ${spec.id} boots next`,
        });
      });
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ImageTooLargeError) failure = 'insufficient-storage';
      await this.serial(() => this.fail(failure, (err as Error).message));
    }
  }

  /** Before the slot's bytes change: no entry may boot it, and neither default nor one-shot may name it. */
  private async invalidateTarget(layout: SlotLayout): Promise<void> {
    const loader = this.ctx.device.bootLoader();
    const entries = await loader.entries();
    const stale = entriesBooting(entries, layout.inactive.slot);
    const activeEntry = bootableEntryOf(entries, layout.active.slot);
    const def = await loader.defaultPattern();
    if (activeEntry && def && stale.some((e) => matchesPattern(def, e.id)))
      await loader.setDefault(activeEntry.id);
    const oneShot = await loader.oneShot();
    if (oneShot && stale.some((e) => e.id === oneShot)) await loader.clearOneShot();
    for (const e of stale) await loader.remove(e.id);
  }

  // ---- start-up -------------------------------------------------------------------------------

  private async recover(): Promise<void> {
    try {
      this.record = (await this.store.load()) ?? initialRecord(new Date());
    } catch (err) {
      this.logger.error(`update state unreadable, starting IDLE: ${(err as Error).message}`, 'Update');
      this.record = initialRecord(new Date());
    }
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
    if (resumesWork(r.state)) {
      this.record = { ...r, starts: r.starts + 1 };
      await this.store.save(this.record);
      if (isRestartLoop(this.record.starts, this.settings.maxStarts)) {
        await this.fail('restart-loop', `${this.record.starts} starts in ${r.state}/${r.step ?? '-'}`);
      } else if (r.state === 'DOWNLOADING') {
        this.startWork((s) => this.runDownload(s));
      } else {
        this.record = atStep(this.record, 'invalidate');
        await this.store.save(this.record);
        this.startWork((s) => this.runInstall(s));
      }
    } else if (r.state === 'REBOOTING') {
      if (!(await this.rebootedSince(r.rebootRequestedAt ?? 0)))
        await this.go('INSTALLED', { detail: 'the agent restarted but the machine did not reboot' });
      else if (layout.active.slot === r.targetSlot) await this.booted();
      else await this.fallenBack(layout);
    } else if (r.state === 'VERIFYING') {
      if (layout.active.slot !== r.targetSlot) await this.fallenBack(layout);
    } else if (r.state === 'COMMITTED') {
      if (layout.active.slot === r.targetSlot) await this.applyCommit();
    } else if (r.state === 'ROLLED_BACK') {
      // A rollback whose reboot did not happen (or did not leave the bad slot) is finished here.
      if (!r.rebootPending) await this.markTargetBad();
      else if (await this.finishRollback(layout).catch((err: unknown) => this.rebootFailed(err))) return;
    } else if (r.state === 'FAILED') {
      await this.cleanUp();
    }
    this.status.ready();
  }

  /** The reboot of a pending rollback failed at start: said loudly; cmd.rollback or the next start retries. */
  private rebootFailed(err: unknown): string {
    const message = `rollback reboot into slot ${this.record.sourceSlot} failed: ${String(err)}`;
    this.logger.error(message, 'Update');
    this.status.degraded(message);
    return message;
  }

  private async booted(): Promise<void> {
    const entry = await this.ctx.device.bootLoader().find(this.record.entryId ?? '');
    await this.go('VERIFYING', {
      detail: `booted slot ${this.record.targetSlot} (${entry?.fileName ?? this.record.entryId}): waiting for commit`,
    });
  }

  /** The boot loader did not boot the new slot: the update is over, and its entry must never boot. */
  private async fallenBack(layout: SlotLayout): Promise<void> {
    await this.go('ROLLED_BACK', {
      reason: 'boot-fallback',
      detail: `expected slot ${this.record.targetSlot}, booted ${layout.active.slot}: the boot loader fell back`,
    });
    await this.markTargetBad();
  }

  /** Whether the machine booted after `requestedAt` (boot time from the host uptime). */
  private async rebootedSince(requestedAt: number): Promise<boolean> {
    const uptime = await this.ctx.device.hostUptimeSeconds();
    if (uptime === undefined) return (await this.slots(true)).active.slot === this.record.targetSlot;
    return Date.now() - uptime * 1000 >= requestedAt;
  }

  // ---- idempotent side effects ----------------------------------------------------------------

  private async applyCommit(): Promise<void> {
    const loader = this.ctx.device.bootLoader();
    const id = this.record.entryId ?? '';
    try {
      await loader.bless(id);
      await loader.setDefault(id);
    } catch (err) {
      throw new ContractError(
        ErrorCode.INTERNAL,
        `commit recorded, but ${id} could not be blessed (retried at the next start or commit): ${(err as Error).message}`,
      );
    }
  }

  private async markTargetBad(): Promise<void> {
    const loader = this.ctx.device.bootLoader();
    const id = this.record.entryId ?? '';
    const entry = await loader.find(id);
    if (entry && entry.triesLeft !== 0) await loader.markBad(id);
    if ((await loader.oneShot()) === id) await loader.clearOneShot();
    const layout = await this.slots(true);
    const previous = bootableEntryOf(await loader.entries(), layout.active.slot);
    const def = await loader.defaultPattern();
    if (previous && def && matchesPattern(def, id)) await loader.setDefault(previous.id);
  }

  /**
   * ROLLED_BACK with the reboot still pending: on the previous slot already, it is done; on the bad
   * slot, reboot into the previous one, counting each request before it is made. Once the count is
   * spent the node evidently cannot leave the bad slot: stop rebooting, say so, and wait for a human.
   * Returns why it is stuck, or undefined.
   */
  private async finishRollback(known?: SlotLayout): Promise<string | undefined> {
    const layout = known ?? (await this.slots(true));
    if (layout.active.slot !== this.record.targetSlot) {
      await this.markTargetBad();
      await this.saveRecord({ ...this.record, rebootPending: false });
      return undefined;
    }
    const done = this.record.rollbackReboots ?? 0;
    const last = this.record.rollbackRebootAt;
    const uptime = await this.ctx.device.hostUptimeSeconds();
    if (last !== undefined && uptime !== undefined && Date.now() - uptime * 1000 < last) {
      // Requested in this boot, not yet happened (killed before it, or still shutting down): the
      // same attempt again, not another one.
      await this.rebootIntoPrevious();
      return undefined;
    }
    if (done >= this.settings.maxRollbackReboots) {
      const stuck = `rollback of ${this.version()} stuck: still on slot ${layout.active.slot} after ${done} reboot(s) into slot ${this.record.sourceSlot}; not rebooting again (needs a human)`;
      this.logger.error(stuck, 'Update');
      await this.markTargetBad().catch((err: unknown) => this.logger.error(err, 'Update'));
      this.status.degraded(stuck);
      return stuck;
    }
    await this.saveRecord({ ...this.record, rollbackReboots: done + 1, rollbackRebootAt: Date.now() });
    this.crashPoint('rollback:reboot');
    await this.rebootIntoPrevious();
    return undefined;
  }

  private async rebootIntoPrevious(): Promise<void> {
    await this.markTargetBad();
    const loader = this.ctx.device.bootLoader();
    const previous = bootableEntryOf(await loader.entries(), this.record.sourceSlot ?? '');
    if (previous) await loader.setDefault(previous.id);
    const reason = `update ${this.version()} rolled back: boot slot ${this.record.sourceSlot}`;
    this.logger.warn(`rebooting: ${reason}`, 'Update');
    await this.ctx.device.reboot(reason);
  }

  /** After FAILED: nothing staged, and an install that had begun leaves no way to boot its slot. */
  private async cleanUp(): Promise<void> {
    await discardStaged(this.dir);
    if (!this.record.installStarted || !this.record.targetSlot) return;
    const layout = await this.slots(true);
    if (layout.active.slot === this.record.targetSlot) return; // never touch what runs
    await this.invalidateTarget(layout);
  }

  // ---- state ----------------------------------------------------------------------------------

  /** Persists the transition first, then publishes it. Illegal transitions are logged and thrown. */
  private async go(
    to: StateName,
    change: Entering & Partial<Omit<UpdateRecord, 'state' | 'since' | 'starts'>> = {},
  ): Promise<void> {
    const from = this.record.state;
    let next: UpdateRecord;
    try {
      next = enter(this.record, to, new Date(), change);
    } catch (err) {
      this.logger.error(`${(err as Error).message}`, 'Update');
      throw new ContractError(ErrorCode.FAILED_PRECONDITION, (err as Error).message);
    }
    await this.store.save(next);
    this.record = next;
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

  private async fail(reason: Reason, detail: string, change: Partial<UpdateRecord> = {}): Promise<void> {
    await this.go('FAILED', { ...change, reason, detail });
    await this.cleanUp();
  }

  /** The same state with changed fields (no transition), persisted before anything acts on it. */
  private async saveRecord(next: UpdateRecord): Promise<void> {
    await this.store.save(next);
    this.record = next;
    this.mirrorToKv();
  }

  private async step(step: string, signal: AbortSignal): Promise<void> {
    await this.serial(async () => {
      signal.throwIfAborted();
      this.record = atStep(this.record, step);
      await this.store.save(this.record);
    });
  }

  private startWork(run: (signal: AbortSignal) => Promise<void>): void {
    const controller = new AbortController();
    this.workAbort = controller;
    this.work = run(controller.signal).catch((err: unknown) => {
      this.logger.error(err, 'Update');
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async slots(fresh = false): Promise<SlotLayout> {
    if (fresh || !this.layout) this.layout = await this.ctx.device.slots();
    return this.layout;
  }

  private manifest(): UpdateManifest {
    return fromJson(UpdateManifestSchema, (this.record.manifest ?? {}) as never);
  }

  private version(): string {
    return String(this.record.manifest?.version ?? '');
  }

  private isCurrent(manifest: UpdateManifest): boolean {
    if (!this.record.manifest) return false;
    const current = this.manifest();
    return (
      canonicalManifest(current) === canonicalManifest(manifest) && current.signature === manifest.signature
    );
  }

  private reportProgress(phase: 'download' | 'install', meter: ProgressMeter, bytes: number, total: number) {
    this.progress = { bytes, total };
    const report = meter.update(bytes, Date.now());
    if (!report) return;
    this.publish(() =>
      this.client.publish(UpdateApi.evt.progress, {
        version: this.version(),
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
      version: this.version(),
      oepStatus: OepStatus[OEP_STATUS[r.state]],
      activeSlot: this.layout?.active.slot ?? '',
      targetSlot: r.targetSlot ?? '',
      entryId: r.entryId ?? '',
      bytesDone: BigInt(inFlight ? this.progress.bytes : 0),
      bytesTotal: BigInt(r.manifest ? Number(this.manifest().size) : 0),
      since: timestampFromDate(new Date(r.since)),
      step: r.step ?? '',
      starts: r.starts,
    });
  }
}
