/**
 * Runs a pure `decide(record, observation, now) → { next, effects }` against the world, one
 * observation at a time (SerialQueue). For each step: decide; persist the new record and wait for it
 * to be durable; publish it; then carry out its effects in order. Persisting first means a crash in
 * the middle of an effect leaves a record that says the effect was under way, so the next start can
 * finish or undo it. An effect may answer with a follow-up observation (its outcome), decided next,
 * before any observation queued by someone else. Long work (a download) should not be an effect that
 * blocks the queue: its effect starts it, and its end is submitted later as a new observation.
 */
import { SerialQueue } from './serial-queue.js';

/** What happens next: the new record and the side effects that carry it out. */
export interface Decision<R, E> {
  next: R;
  effects: E[];
}

/** A pure decision: no I/O, no clock other than `now`. Return the same `record` for "no change". */
export type Decide<R, O, E> = (record: R, observation: O, now: Date) => Decision<R, E>;

/** The world around the engine: where records go and how effects are done. */
export interface EngineHooks<R, O, E> {
  decide: Decide<R, O, E>;
  /** Makes the record durable; awaited before anything is published or done. */
  persist(record: R): Promise<void>;
  /** Announces a new record (event, KV mirror). Its failures go to `onPublishError`, not to the caller. */
  publish?(record: R, previous: R): void | Promise<void>;
  onPublishError?(error: unknown, record: R): void;
  /** Carries out one effect; may return the observation of its outcome, decided next. */
  execute(effect: E, record: R): Promise<O | void> | O | void;
  clock?: () => Date;
}

/** One decided observation: the record before and after it, and the effects it asked for. */
export interface Step<R, E> {
  previous: R;
  next: R;
  effects: E[];
}

export class DecisionEngine<R, O, E> {
  private current: R;
  private readonly queue = new SerialQueue();

  constructor(
    initial: R,
    private readonly hooks: EngineHooks<R, O, E>,
  ) {
    this.current = initial;
  }

  /** The newest record (persisted, unless a persist failed). */
  get record(): R {
    return this.current;
  }

  /**
   * Decides `observation` after everything queued before it, then its follow-ups. Resolves with the
   * step of `observation` itself once all of its effects ran; rejects with the first failure (a
   * failed persist: nothing published or done; a failed effect: the effects after it are skipped).
   */
  submit(observation: O): Promise<Step<R, E>> {
    return this.queue.run(() => this.process(observation));
  }

  /** Replaces the record without deciding (start-up, after loading it); persisted and published. */
  reset(record: R): Promise<void> {
    return this.queue.run(async () => {
      const previous = this.current;
      await this.hooks.persist(record);
      this.current = record;
      await this.announce(record, previous);
    });
  }

  /** Resolves when every observation submitted so far has been handled. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async process(observation: O): Promise<Step<R, E>> {
    const first = await this.step(observation);
    let pending = first.followUps;
    while (pending.length > 0) {
      const [head, ...rest] = pending;
      const step = await this.step(head as O);
      pending = [...step.followUps, ...rest];
    }
    return first.step;
  }

  private async step(observation: O): Promise<{ step: Step<R, E>; followUps: O[] }> {
    const previous = this.current;
    const now = this.hooks.clock?.() ?? new Date();
    const { next, effects } = this.hooks.decide(previous, observation, now);
    if (next !== previous) {
      await this.hooks.persist(next);
      this.current = next;
      await this.announce(next, previous);
    }
    const followUps: O[] = [];
    for (const effect of effects) {
      const outcome = await this.hooks.execute(effect, this.current);
      if (outcome !== undefined) followUps.push(outcome);
    }
    return { step: { previous, next, effects }, followUps };
  }

  private async announce(record: R, previous: R): Promise<void> {
    if (!this.hooks.publish) return;
    try {
      await this.hooks.publish(record, previous);
    } catch (err) {
      this.hooks.onPublishError?.(err, record);
    }
  }
}
