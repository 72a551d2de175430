/**
 * Runs asynchronous work one piece at a time, in the order it was queued. A piece that fails rejects
 * only its own caller; the queue goes on with the next. This is the one promise chain every agent
 * uses where two handlers must not interleave (a KV change and a command acting on the same record).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` after every piece queued before it; resolves or rejects with its result. */
  run<T>(work: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(() => work());
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when every piece queued so far has finished (or failed). */
  async idle(): Promise<void> {
    await this.tail;
  }
}
