/**
 * The fleet agent's engine: loads its record at start, applies the domain rules to each request
 * (one at a time, so two echoes never get the same number), persists, then answers.
 */
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import {
  ContractError,
  ErrorCode,
  FleetEchoReplySchema,
  FleetStatusSchema,
  type FleetEchoReply,
  type FleetEchoRequest,
  type FleetStatus,
} from '@outpost/contracts';
import { AGENT_CONTEXT, AGENT_SETTINGS, type AgentContext, type SettingsOf } from '@outpost/agent-runtime';
import type { fleetSettings } from './config/fleet.settings.js';
import { echo, EMPTY_RECORD, type EchoRecord } from './domain/echo.js';
import { FleetStateStore } from './state/fleet-state.store.js';

type Settings = SettingsOf<typeof fleetSettings>;

@Injectable()
export class FleetService implements OnModuleInit {
  private readonly store: FleetStateStore;
  private record: EchoRecord = EMPTY_RECORD;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(AGENT_CONTEXT) ctx: AgentContext,
    @Inject(AGENT_SETTINGS) private readonly settings: Settings,
  ) {
    this.store = new FleetStateStore(ctx.paths.stateDir);
  }

  async onModuleInit(): Promise<void> {
    this.record = (await this.store.load()) ?? EMPTY_RECORD;
  }

  echo(request: FleetEchoRequest): Promise<FleetEchoReply> {
    return this.enqueue(async () => {
      const outcome = echo(this.record, request.text, this.settings, Date.now());
      if (!outcome.ok) throw new ContractError(ErrorCode.INVALID_ARGUMENT, outcome.problem);
      await this.store.save(outcome.record);
      this.record = outcome.record;
      return create(FleetEchoReplySchema, {
        text: outcome.record.lastText,
        sequence: BigInt(outcome.sequence),
        at: timestampFromMs(outcome.record.lastEchoAtMs),
      });
    });
  }

  statusMessage(): FleetStatus {
    const r = this.record;
    return create(FleetStatusSchema, {
      echoes: BigInt(r.echoes),
      lastText: r.lastText,
      lastEchoAt: r.lastEchoAtMs ? timestampFromMs(r.lastEchoAtMs) : undefined,
    });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
