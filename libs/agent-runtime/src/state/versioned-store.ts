/**
 * A typed record on disk: `{ version, data }` written with write-fsync-rename (StateFile, saves in
 * call order). Loading checks the version, runs the migrations from an older version up to the
 * current one, and decodes the data into the typed record (the decoder throws on anything off), so
 * an agent keeps its record as plain typed data and never re-parses text out of its own state file.
 */
import { readJson } from './atomic-file.js';
import { StateFile } from './state-file.js';

/** Turns the data of version `from` into the data of version `from + 1`. */
export type Migration = (data: unknown) => unknown;

export interface RecordCodec<T> {
  /** The version this agent writes. */
  version: number;
  /** The typed record from the stored data; throws (naming the field) when it is not one. */
  decode(data: unknown): T;
  /** Migrations keyed by the version they read; an older file without a path to `version` is refused. */
  migrations?: Readonly<Record<number, Migration>>;
}

export class StateDecodeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'StateDecodeError';
  }
}

export class VersionedStore<T> {
  private readonly file: StateFile<T>;

  constructor(
    readonly path: string,
    private readonly codec: RecordCodec<T>,
  ) {
    this.file = new StateFile(path, codec.version);
  }

  get version(): number {
    return this.codec.version;
  }

  /** The stored record (migrated if older); undefined when there is none. Throws StateDecodeError. */
  async load(): Promise<T | undefined> {
    let doc;
    try {
      doc = await readJson<unknown>(this.path);
    } catch (err) {
      throw new StateDecodeError(this.path, (err as Error).message);
    }
    if (!doc) return undefined;
    let { version, data } = doc;
    if (version > this.codec.version)
      throw new StateDecodeError(
        this.path,
        `version ${version} is newer than this agent's ${this.codec.version}`,
      );
    while (version < this.codec.version) {
      const migrate = this.codec.migrations?.[version];
      if (!migrate) throw new StateDecodeError(this.path, `no migration from version ${version}`);
      data = migrate(data);
      version += 1;
    }
    try {
      return this.codec.decode(data);
    } catch (err) {
      throw new StateDecodeError(this.path, (err as Error).message);
    }
  }

  /** Writes `record` as it is now, after every earlier save; resolves once it is durable. */
  save(record: T): Promise<void> {
    return this.file.save(record);
  }

  /** Resolves when every save issued so far has landed (or failed). */
  settled(): Promise<void> {
    return this.file.settled();
  }
}
