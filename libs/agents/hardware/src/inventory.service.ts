/**
 * Keeps the node's hardware inventory. Scans on start, every scan interval, after a burst of udev
 * block/net/usb events (debounced) and on cmd.rescan; scans never overlap. Each scan is diffed against
 * the last published inventory (persisted, so this holds across restarts): only a change publishes
 * evt.inventory (the diff and the content hash), rewrites KV <nodeId>.hardware.inventory and the
 * state file. Status: READY after the first successful scan, even when only optional detail was
 * unreadable (root-only DMI files, memory modules, no udevadm); DEGRADED when a required part could
 * not be read (CPU, memory, disks, NICs) or the scan failed.
 */
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  ContractError,
  encode,
  ErrorCode,
  HardwareApi,
  InventorySchema,
  kvKeys,
  RescanReplySchema,
  type Inventory,
  type RescanReply,
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
import type { hardwareSettings } from './config/hardware.settings.js';
import { Debouncer } from './domain/debounce.js';
import { diffInventories } from './domain/diff.js';
import type { ProblemContent } from './domain/inventory.js';
import { toChangeMessages, toInventoryMessage } from './domain/to-message.js';
import type { RawFacts } from './domain/raw-facts.js';
import { scanFacts } from './scanner/scan.js';
import { collectSimulatedFacts } from './scanner/simulated.collector.js';
import { collectHostFacts } from './scanner/sysfs.collector.js';
import { UdevMonitor } from './scanner/udev.monitor.js';
import { InventoryStore, type StoredInventory } from './state/inventory.store.js';

type HardwareSettings = SettingsOf<typeof hardwareSettings>;
export type ScanTrigger = 'start' | 'interval' | 'udev' | 'rescan';

@Injectable()
export class InventoryService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly store: InventoryStore;
  private readonly debouncer: Debouncer;
  private baseline?: StoredInventory;
  private latest?: Inventory;
  private running: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private udev?: UdevMonitor;
  /** Problems of the agent itself (udev), listed in every inventory beside the scan's own. */
  private agentProblems: ProblemContent[] = [];
  private kvWritten = false;
  private stopped = false;

  constructor(
    @Inject(AGENT_CONTEXT) private readonly ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: HardwareSettings,
    @Inject(BUS_STORES) private readonly stores: BusStores,
    private readonly client: BusClient,
    private readonly status: StatusReporter,
    @Inject(AGENT_LOGGER) private readonly logger: LoggerService,
  ) {
    this.store = new InventoryStore(ctx.paths.stateDir);
    this.debouncer = new Debouncer(settings.debounceMs, settings.debounceMs * 5, () =>
      this.scanInBackground('udev'),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      this.baseline = await this.store.load();
    } catch (err) {
      this.logger.warn(
        `stored inventory ignored (${String(err)}); the next scan is reported as new`,
        'Inventory',
      );
    }
    await this.startUdev();
    this.timer = setInterval(() => this.scanInBackground('interval'), this.settings.scanIntervalMs);
    this.timer.unref();
    // Awaited, so the runtime's READY comes after the first scan and cmd.inventory has an answer.
    await this.enqueue('start');
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.debouncer.cancel();
    this.udev?.stop();
  }

  /** The inventory of the last scan. */
  current(): Inventory {
    if (!this.latest) {
      throw new ContractError(ErrorCode.UNAVAILABLE, 'no hardware scan has completed yet; retry shortly');
    }
    return this.latest;
  }

  /** Scans now (after any scan in progress), skipping a pending debounce. */
  async rescan(): Promise<RescanReply> {
    this.debouncer.cancel();
    const outcome = await this.enqueue('rescan');
    if (!outcome) {
      throw new ContractError(ErrorCode.INTERNAL, 'the hardware scan failed; see the agent status and log');
    }
    return outcome;
  }

  private async startUdev(): Promise<void> {
    if (this.ctx.device.kind === 'simulated') return;
    this.udev = new UdevMonitor(this.settings.udevadm, {
      onEvent: (e) => {
        this.logger.debug?.(`udev ${e.action} ${e.subsystem} ${e.devpath}`, 'Inventory');
        this.debouncer.poke();
      },
      onGone: (reason) => this.udevUnavailable(reason),
    });
    const started = await this.udev.start();
    if (started.running) this.logger.log('watching udev block/net/usb events', 'Inventory');
    else this.udevUnavailable(started.reason);
  }

  private udevUnavailable(reason: string): void {
    const message = `${reason}: hardware changes are noticed by interval scans only (every ${this.settings.scanIntervalMs} ms)`;
    this.logger.warn(message, 'Inventory');
    this.agentProblems = [{ component: 'udev', message, optional: true }];
  }

  private scanInBackground(trigger: ScanTrigger): void {
    void this.enqueue(trigger);
  }

  /** Scans run one after another; a failed one is logged and reported, never thrown. */
  private enqueue(trigger: ScanTrigger): Promise<RescanReply | undefined> {
    const next = this.running.then(() => (this.stopped ? undefined : this.scan(trigger)));
    this.running = next.catch(() => undefined);
    return next.catch((err: unknown) => {
      this.logger.error(
        `hardware scan (${trigger}) failed: ${String(err)}`,
        (err as Error).stack,
        'Inventory',
      );
      this.status.degraded(`hardware scan failed: ${String(err)}`);
      return undefined;
    });
  }

  private collect(): Promise<RawFacts> {
    if (this.ctx.device.kind === 'simulated') return collectSimulatedFacts(this.ctx.common.simulatorDir);
    return collectHostFacts({
      root: this.settings.root,
      dmiFallbackDir: this.settings.dmiFallbackDir || undefined,
    });
  }

  private async scan(trigger: ScanTrigger): Promise<RescanReply> {
    const result = scanFacts(await this.collect());
    const scannedAt = new Date();
    const problems = [...result.problems, ...this.agentProblems];
    const previous = this.baseline;
    const changed = previous?.hash !== result.hash;
    const changes = changed ? diffInventories(previous?.content, result.content) : [];
    const stamp = timestampFromDate(scannedAt);
    this.latest = toInventoryMessage(this.ctx.nodeId, stamp, result.hash, result.content, problems);
    const reply = create(RescanReplySchema, {
      changed,
      hash: result.hash,
      previousHash: previous?.hash ?? '',
      changes: toChangeMessages(changes),
      scannedAt: stamp,
    });
    if (changed) {
      this.logger.log(
        `inventory ${previous ? 'changed' : 'recorded'} (${trigger}): ${changes.length} component(s), hash ${result.hash.slice(0, 12)}`,
        'Inventory',
      );
      this.baseline = { hash: result.hash, scannedAt: scannedAt.toISOString(), content: result.content };
      await this.store.save(this.baseline);
      this.publishChange(reply, trigger);
    }
    if (changed || !this.kvWritten) await this.writeKv(this.latest);
    this.report(problems);
    return reply;
  }

  private publishChange(reply: RescanReply, trigger: ScanTrigger): void {
    if (this.client.connection.isClosed()) return;
    try {
      this.client.publish(HardwareApi.evt.inventory, {
        nodeId: this.ctx.nodeId,
        hash: reply.hash,
        previousHash: reply.previousHash,
        scannedAt: reply.scannedAt,
        changes: reply.changes,
        trigger,
      });
    } catch (err) {
      this.logger.warn(`inventory event not published: ${String(err)}`, 'Inventory');
    }
  }

  private async writeKv(inventory: Inventory): Promise<void> {
    if (this.client.connection.isClosed() || this.client.connection.isDraining()) return;
    try {
      await this.stores.status.put(
        kvKeys.hardwareInventory(this.ctx.nodeId),
        encode(InventorySchema, inventory),
      );
      this.kvWritten = true;
    } catch (err) {
      // Retried on the next scan: kvWritten stays false until a write succeeds.
      this.kvWritten = false;
      this.logger.warn(`inventory not written to KV: ${String(err)}`, 'Inventory');
    }
  }

  private report(problems: ProblemContent[]): void {
    const required = problems.filter((p) => !p.optional);
    if (required.length) this.status.degraded(...required.map((p) => `${p.component}: ${p.message}`));
    else this.status.ready();
  }
}
