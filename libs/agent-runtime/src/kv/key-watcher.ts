/**
 * An agent's watches of KV keys, as one Nest provider: the agent names its keys and what to do with each
 * change, and the watcher starts them once the agent's app has bootstrapped and stops them when it
 * closes. Each key is followed by watchKey of @outpost/bus (its current value, then every change through
 * the consumer the admin provisioned for this agent and key; one key per watch, since the 2.9 server
 * cannot watch a key list); a watch that fails is logged here and opened again by watchKey.
 */
import type {
  FactoryProvider,
  InjectionToken,
  LoggerService,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import type { KV_DESIRED, KV_STATUS } from '@outpost/contracts';
import { watchKey, type BusStores, type KeyEntry, type KeyWatch } from '@outpost/bus';
import { AGENT_CONTEXT, AGENT_LOGGER, BUS_STORES, type AgentContext } from '../runtime.module.js';

/** One watched key and its handler (awaited: the next change waits for it). */
export interface WatchedKeySpec {
  bucket: typeof KV_DESIRED | typeof KV_STATUS;
  /** A literal key: it names the provisioned consumer. */
  key: string;
  onEntry: (entry: KeyEntry) => void | Promise<void>;
}

/** What the handlers of a watcher are given besides the providers they inject. */
export interface KeyWatcherScope {
  ctx: AgentContext;
  logger: LoggerService;
}

export class KeyWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private watches: KeyWatch[] = [];

  constructor(
    private readonly scope: KeyWatcherScope,
    private readonly stores: BusStores,
    private readonly logContext: string,
    private readonly keys: readonly WatchedKeySpec[],
  ) {}

  onApplicationBootstrap(): void {
    const { ctx, logger } = this.scope;
    this.watches = this.keys.map(({ bucket, key, onEntry }) =>
      watchKey(this.stores, { bucket, key, nodeId: ctx.nodeId, agent: ctx.agent }, onEntry, {
        onError: (err) => logger.warn(`watch of ${key} failed: ${String(err)}`, this.logContext),
      }),
    );
  }

  async onModuleDestroy(): Promise<void> {
    const watches = this.watches;
    this.watches = [];
    await Promise.all(watches.map((w) => w.stop()));
  }
}

export interface KeyWatcherOptions<Deps extends unknown[]> {
  /** The provider's token. */
  provide: InjectionToken;
  /** The log context of the watcher's lines (and of its handlers', by convention). */
  log: string;
  /** Providers the handlers use, handed to `keys` after the scope, in this order. */
  inject?: InjectionToken[];
  /** The keys to watch and each one's handler. */
  keys: (scope: KeyWatcherScope, ...deps: Deps) => readonly WatchedKeySpec[];
}

/**
 * A provider for an agent module that watches the keys `keys` names, e.g.
 * `keyWatcher<[Engine]>({ provide: 'DesiredWatcher', log: 'Desired', inject: [Engine], keys: ... })`.
 */
export function keyWatcher<Deps extends unknown[] = []>(
  options: KeyWatcherOptions<Deps>,
): FactoryProvider<KeyWatcher> {
  return {
    provide: options.provide,
    inject: [AGENT_CONTEXT, AGENT_LOGGER, BUS_STORES, ...(options.inject ?? [])],
    useFactory: (ctx: AgentContext, logger: LoggerService, stores: BusStores, ...deps: unknown[]) => {
      const scope = { ctx, logger };
      return new KeyWatcher(scope, stores, options.log, options.keys(scope, ...(deps as Deps)));
    },
  };
}
