/**
 * One versioned state file of an agent, saved in order. `save()` takes a snapshot of the data when it
 * is called and queues the atomic write behind every earlier save of the same file, so the file always
 * ends with the newest state: two saves racing (a desired-state change and a transition) can never
 * rename a stale snapshot over a newer one. Callers await the save before the side effect it announces.
 */
import { readJson, writeFileAtomic } from './atomic-file.js';

export class StateFile<T> {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    readonly version: number,
  ) {}

  /** The stored data; undefined when there is none. Throws on a corrupt file or another version. */
  async load(): Promise<T | undefined> {
    const doc = await readJson<T>(this.path);
    if (!doc) return undefined;
    if (doc.version !== this.version)
      throw new Error(`${this.path} has version ${doc.version}; this agent reads version ${this.version}`);
    return doc.data;
  }

  /** Writes `data` as it is now, after every earlier save; resolves once it is durable. */
  save(data: T): Promise<void> {
    let text: string;
    try {
      text = `${JSON.stringify({ version: this.version, data }, null, 2)}\n`;
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const write = this.tail.then(() => writeFileAtomic(this.path, text));
    this.tail = write.catch(() => undefined);
    return write;
  }

  /** Resolves when every save issued so far has landed (or failed). */
  settled(): Promise<void> {
    return this.tail;
  }
}
