/**
 * The storage contract: named collections of JSON values by string key. Small on purpose, so that
 * an adapter is a thin file over its library (memory, IndexedDB, SQLite flavours) and one
 * conformance suite proves them all. Keys sort by JavaScript string order (UTF-16 code units);
 * callers that need numeric order encode numbers as fixed-width strings.
 */

/** One operation of an atomic {@link StorageAdapter.write}. */
export type StorageOperation =
  | { type: 'put'; collection: string; key: string; value: unknown }
  | { type: 'delete'; collection: string; key: string }
  | { type: 'clear'; collection: string };

/** Options of {@link StorageAdapter.scan}. */
export interface ScanOptions {
  /** Start after this key (exclusive), for resuming a scan. */
  after?: string;
  /** Only keys starting with this prefix. */
  prefix?: string;
  /** Entries per yielded batch (default 500). The adapter never holds more than one batch. */
  batchSize?: number;
}

/** What an adapter can do, so callers can choose strategies without knowing the adapter. */
export interface StorageCapabilities {
  /** Survives a restart of the process or page. */
  persistent: boolean;
  /** Can be opened by several processes (or tabs) at once, so writers need a lock. */
  shared: boolean;
  /** Offers `tryLock`/`renewLock`/`unlock`: a lock kept in the store itself (for stores without Web Locks). */
  locks: boolean;
  /**
   * Shared only by the contexts of one origin (tabs and workers of a site, like IndexedDB): exactly
   * the contexts the Web Locks API spans, so where the host has Web Locks no store lock is needed.
   */
  originScoped: boolean;
}

/** A store lock as its holder names it, for {@link StorageAdapter.writeLocked}. */
export interface HeldStoreLock {
  /** The lock's name. */
  name: string;
  /** The holder's owner id (the one it took the lock with). */
  owner: string;
  /** How long the lock lasts from this write on, in ms. */
  ttlMs: number;
}

/** A storage backend. Every method is async; values are JSON-compatible. */
export interface StorageAdapter {
  /** Adapter name for messages, e.g. `memory`, `indexeddb`, `sqlite:better-sqlite3`. */
  readonly name: string;
  /** What this adapter can do. */
  readonly capabilities: StorageCapabilities;
  /** One value, or undefined. */
  get<T = unknown>(collection: string, key: string): Promise<T | undefined>;
  /** Several values in the order of `keys` (undefined where absent). */
  getMany<T = unknown>(collection: string, keys: readonly string[]): Promise<(T | undefined)[]>;
  /** Inserts or replaces several entries atomically. */
  putMany(collection: string, entries: readonly (readonly [key: string, value: unknown])[]): Promise<void>;
  /** Deletes several keys atomically; absent keys are ignored. */
  deleteMany(collection: string, keys: readonly string[]): Promise<void>;
  /** Yields entries in key order, in batches of at most `batchSize`. */
  scan<T = unknown>(collection: string, options?: ScanOptions): AsyncIterable<Array<[key: string, value: T]>>;
  /** Number of entries in a collection. */
  count(collection: string): Promise<number>;
  /** Applies every operation or none (all-or-nothing, also across collections). */
  write(operations: readonly StorageOperation[]): Promise<void>;
  /** Empties one collection, or every collection when none is named. */
  clear(collection?: string): Promise<void>;
  /** Releases the connection. Further calls fail. */
  close(): Promise<void>;
  /**
   * Takes the named lock for `owner` unless another owner holds an unexpired one; true on success.
   * Present when `capabilities.locks` is true.
   */
  tryLock?(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * Extends the named lock for `owner` if `owner` still holds it, even past its expiry (nobody else
   * took it meanwhile); false if another owner holds it or it was released. Never takes a free lock,
   * so a writer that stalled can tell "still mine" from "taken and given back while I slept".
   * Present when `capabilities.locks` is true.
   */
  renewLock?(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * Like `write`, but in the same atomic unit first checks that `lock.owner` still holds the named
   * lock (even past its expiry, as `renewLock` does) and extends it by `lock.ttlMs`; when it does
   * not, nothing is written and the promise resolves false. This is the fencing that keeps a writer
   * whose lock was taken over between its last check and its write from writing at all.
   * Present when `capabilities.locks` is true.
   */
  writeLocked?(lock: HeldStoreLock, operations: readonly StorageOperation[]): Promise<boolean>;
  /** Releases the named lock if `owner` holds it. */
  unlock?(name: string, owner: string): Promise<void>;
}
