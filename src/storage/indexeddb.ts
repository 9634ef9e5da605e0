/**
 * `imednet/storage/indexeddb`: a persistent store in the browser's IndexedDB, through `idb` (an
 * optional peer dependency, imported at first use unless you pass it as `{ idb }`).
 *
 * Layout: ONE object store `entries` keyed by the compound key `[collection, key]`, plus a `locks`
 * store. Object stores can only be created during a version change, so a store per collection would
 * force a reopen-and-upgrade whenever a new collection appears — blocked by every other open tab.
 * Compound keys give each collection its own contiguous, ordered key range inside one store (arrays
 * compare element by element, so `[c]` < `[c, any string]` < `[c, []]`), which serves scans, counts
 * and clears as range operations, and lets `write` span collections in one transaction.
 *
 * The factory and idb must agree. idb tells IndexedDB objects apart with `instanceof` against the
 * *global* classes (`IDBRequest`, `IDBDatabase`, `IDBTransaction`, …), so the factory this adapter
 * opens with — `globalThis.indexedDB` or the one you pass — has to be the implementation those
 * globals describe. In a browser that holds by itself. In Node, install fake-indexeddb as the globals
 * (`import 'fake-indexeddb/auto'`); a factory you then pass, such as `new IDBFactory()` from
 * `fake-indexeddb` for an isolated set of databases, is of the same implementation. A factory of any
 * other implementation (another realm, another copy of fake-indexeddb) only works with an `idb`
 * module whose `wrap` recognises its objects; otherwise the first call fails with a
 * ConfigurationError that says so.
 */
import type { IDBPDatabase, IDBPObjectStore } from 'idb';
import { ConfigurationError } from '../core/errors.js';
import { prefixEndByCodeUnit } from './keys.js';
import { Lifecycle } from './lifecycle.js';
import { importOptional } from './optional.js';
import { batchSizeOf, lockExpiry } from './options.js';
import type { HeldStoreLock, ScanOptions, StorageAdapter, StorageOperation } from './types.js';
import { decodeValue, encodePuts, encodeValue } from './values.js';

/**
 * The part of the `idb` package this adapter calls: `wrap`, which turns the open request into a
 * promise of the promise-based database. `import * as idb from 'idb'` fits.
 */
export interface IdbModule {
  wrap(request: IDBOpenDBRequest): Promise<unknown>;
}

/** Options of {@link indexedDbStorage}. */
export interface IndexedDbStorageOptions {
  /** Database name (default `imednet`). Different names are separate stores. */
  name?: string;
  /**
   * The IndexedDB factory (default: `globalThis.indexedDB`, read at first use). It must be of the
   * implementation the global `IDB*` classes belong to, since idb checks objects against those.
   */
  indexedDB?: IDBFactory;
  /** The key-range class of the same implementation (default: `globalThis.IDBKeyRange`). */
  IDBKeyRange?: typeof IDBKeyRange;
  /** The `idb` module, to pass it instead of having it imported at first use. */
  idb?: IdbModule;
}

const SCHEMA_VERSION = 1;
const ENTRIES = 'entries';
const LOCKS = 'locks';

interface LockRow {
  owner: string;
  expires: number;
}

type Database = IDBPDatabase<unknown>;
type WriteStore = IDBPObjectStore<unknown, [string], string, 'readwrite'>;

interface Connection {
  db: Database;
  KeyRange: typeof IDBKeyRange;
}

/**
 * A store in IndexedDB: persistent, shared by the tabs of an origin, with locks kept in the database.
 *
 * @example
 * const storage = indexedDbStorage({ name: 'my-study-cache' });
 * // In Node tests: import 'fake-indexeddb/auto' once (idb needs the IDB classes as globals), then
 * // import { IDBFactory } from 'fake-indexeddb';
 * const test = indexedDbStorage({ name: 'test', indexedDB: new IDBFactory() });
 */
export function indexedDbStorage(options: IndexedDbStorageOptions = {}): StorageAdapter {
  const dbName = options.name ?? 'imednet';
  const lifecycle = new Lifecycle('indexeddb');
  let opening: Promise<Connection> | undefined;

  const connection = (): Promise<Connection> => {
    lifecycle.check();
    if (opening) return opening;
    // Forget a connection that failed to open (a later call may succeed, e.g. once storage is
    // granted) or that stepped aside for another tab's version change (the next call reopens).
    const forget = () => {
      if (opening === attempt) opening = undefined;
    };
    const attempt = connect(dbName, options, forget);
    attempt.catch(forget);
    opening = attempt;
    return attempt;
  };

  return {
    name: 'indexeddb',
    capabilities: { persistent: true, shared: true, locks: true, originScoped: true },

    async get<T>(collection: string, key: string): Promise<T | undefined> {
      const { db } = await connection();
      const text = (await db.get(ENTRIES, [collection, key])) as string | undefined;
      return text === undefined ? undefined : decodeValue<T>(text);
    },

    async getMany<T>(collection: string, keys: readonly string[]): Promise<(T | undefined)[]> {
      const { db } = await connection();
      if (keys.length === 0) return [];
      const store = db.transaction(ENTRIES, 'readonly').store;
      // Every request is issued before the first await, so the transaction cannot commit early.
      const texts = (await Promise.all(keys.map((key) => store.get([collection, key])))) as Array<
        string | undefined
      >;
      return texts.map((text) => (text === undefined ? undefined : decodeValue<T>(text)));
    },

    async putMany(collection, entries) {
      const encoded = entries.map(([key, value]) => [key, encodeValue(collection, key, value)] as const);
      const { db } = await connection();
      await readwrite(db, ENTRIES, (store, requests) => {
        for (const [key, text] of encoded) requests.push(store.put(text, [collection, key]));
      });
    },

    async deleteMany(collection, keys) {
      const { db } = await connection();
      await readwrite(db, ENTRIES, (store, requests) => {
        for (const key of keys) requests.push(store.delete([collection, key]));
      });
    },

    async *scan<T>(collection: string, scanOptions?: ScanOptions): AsyncGenerator<Array<[string, T]>> {
      const size = batchSizeOf(scanOptions);
      const { db, KeyRange } = await connection();
      const prefix = scanOptions?.prefix ?? '';
      const after = scanOptions?.after;
      const end = prefix ? prefixEndByCodeUnit(prefix) : undefined;
      // `after` past the whole prefix range: nothing to yield (and bound() would throw on lower > upper).
      if (after !== undefined && end !== undefined && after >= end) return;
      const upper = end === undefined ? [collection, []] : [collection, end];
      // Start strictly after `after` when it lies at or past the prefix, else at the prefix itself.
      let lower: [string, string] | [string] = prefix ? [collection, prefix] : [collection];
      let lowerOpen = false;
      if (after !== undefined && after >= prefix) {
        lower = [collection, after];
        lowerOpen = true;
      }
      for (;;) {
        lifecycle.check();
        const range = KeyRange.bound(lower, upper, lowerOpen, true);
        // One short transaction per batch: IndexedDB commits a transaction as soon as its requests
        // are done and nothing new was queued, so it cannot stay open while the consumer works.
        const store = db.transaction(ENTRIES, 'readonly').store;
        const [keys, texts] = await Promise.all([store.getAllKeys(range, size), store.getAll(range, size)]);
        if (keys.length === 0) return;
        const batch = keys.map((compound, i): [string, T] => [
          (compound as [string, string])[1],
          decodeValue<T>(texts[i] as string),
        ]);
        yield batch;
        if (keys.length < size) return;
        lower = [collection, batch[batch.length - 1]![0]];
        lowerOpen = true;
      }
    },

    async count(collection) {
      const { db, KeyRange } = await connection();
      return db.count(ENTRIES, collectionRange(KeyRange, collection));
    },

    async write(operations: readonly StorageOperation[]) {
      const texts = encodePuts(operations);
      const { db, KeyRange } = await connection();
      // One readwrite transaction over every collection: IndexedDB applies all of it or none of it.
      await readwrite(db, ENTRIES, (store, requests) => queue(store, KeyRange, operations, texts, requests));
    },

    async writeLocked(lock: HeldStoreLock, operations: readonly StorageOperation[]) {
      const texts = encodePuts(operations);
      const expires = lockExpiry(lock.ttlMs);
      const { db, KeyRange } = await connection();
      // The lock row and the entries in one transaction: the check and the write cannot be split.
      const tx = db.transaction([ENTRIES, LOCKS], 'readwrite');
      const locksStore = tx.objectStore(LOCKS);
      const apply = async (): Promise<boolean> => {
        const row = (await locksStore.get(lock.name)) as LockRow | undefined;
        if (row?.owner !== lock.owner) {
          tx.abort();
          return false;
        }
        const requests: Array<Promise<unknown>> = [
          locksStore.put({ owner: lock.owner, expires } satisfies LockRow, lock.name),
        ];
        queue(tx.objectStore(ENTRIES) as unknown as WriteStore, KeyRange, operations, texts, requests);
        await Promise.all(requests);
        return true;
      };
      const [applied] = await Promise.all([
        apply(),
        tx.done.then(
          () => true,
          (error: unknown) => {
            // An abort of our own (not the owner) is the answer false, not a failure.
            if ((error as { name?: string })?.name === 'AbortError') return false;
            throw error;
          },
        ),
      ]);
      return applied;
    },

    async clear(collection?: string) {
      const { db, KeyRange } = await connection();
      await readwrite(db, ENTRIES, (store, requests) => {
        requests.push(
          collection === undefined ? store.clear() : store.delete(collectionRange(KeyRange, collection)),
        );
      });
    },

    async close() {
      if (!lifecycle.markClosed()) return;
      const pending = opening;
      opening = undefined;
      if (pending) (await pending.catch(() => undefined))?.db.close();
    },

    async tryLock(name: string, owner: string, ttlMs: number) {
      const now = Date.now();
      const expires = lockExpiry(ttlMs, now);
      const { db } = await connection();
      // Read and write in one readwrite transaction, so two tabs cannot both see the lock free.
      // The put is queued in the get's continuation, while the transaction is still active.
      const tx = db.transaction(LOCKS, 'readwrite');
      const decide = async (): Promise<boolean> => {
        const row = (await tx.store.get(name)) as LockRow | undefined;
        if (row && row.owner !== owner && row.expires > now) return false;
        await tx.store.put({ owner, expires } satisfies LockRow, name);
        return true;
      };
      const [acquired] = await Promise.all([decide(), tx.done]);
      return acquired;
    },

    async renewLock(name: string, owner: string, ttlMs: number) {
      const expires = lockExpiry(ttlMs);
      const { db } = await connection();
      const tx = db.transaction(LOCKS, 'readwrite');
      const extend = async (): Promise<boolean> => {
        const row = (await tx.store.get(name)) as LockRow | undefined;
        if (row?.owner !== owner) return false;
        await tx.store.put({ owner, expires } satisfies LockRow, name);
        return true;
      };
      const [renewed] = await Promise.all([extend(), tx.done]);
      return renewed;
    },

    async unlock(name: string, owner: string) {
      const { db } = await connection();
      const tx = db.transaction(LOCKS, 'readwrite');
      const release = async (): Promise<void> => {
        const row = (await tx.store.get(name)) as LockRow | undefined;
        if (row?.owner === owner) await tx.store.delete(name);
      };
      await Promise.all([release(), tx.done]);
    },
  };
}

async function connect(
  name: string,
  options: IndexedDbStorageOptions,
  onLost: () => void,
): Promise<Connection> {
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  const KeyRange = options.IDBKeyRange ?? (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange;
  if (!factory || !KeyRange) {
    throw new ConfigurationError(
      'IndexedDB is not available here. In a browser it is built in; in Node install fake-indexeddb ' +
        "as the globals (`import 'fake-indexeddb/auto'`), or use memoryStorage() from imednet/storage " +
        'or a SQLite adapter from imednet/storage/sqlite/*.',
    );
  }
  const idb =
    options.idb ??
    (await importOptional(
      () => import('idb'),
      'indexedDbStorage needs the optional package idb: run `npm install idb` (or pass the module as { idb })',
    ));

  const request = factory.open(name, SCHEMA_VERSION);
  request.onupgradeneeded = () => {
    const upgrading = request.result;
    if (!upgrading.objectStoreNames.contains(ENTRIES)) upgrading.createObjectStore(ENTRIES);
    if (!upgrading.objectStoreNames.contains(LOCKS)) upgrading.createObjectStore(LOCKS);
  };
  let opened: unknown;
  try {
    opened = idb.wrap(request);
  } catch (cause) {
    abandon(request);
    throw mismatch(cause);
  }
  // idb hands back anything it does not recognise as an IDBRequest unchanged, not as a promise.
  if (typeof (opened as { then?: unknown } | null)?.then !== 'function') {
    abandon(request);
    throw mismatch(undefined);
  }
  const db = (await opened) as Database;
  // Step aside when another tab upgrades or deletes the database, instead of blocking it forever;
  // the adapter opens a new connection at its next call.
  db.addEventListener('versionchange', () => {
    db.close();
    onLost();
  });
  db.addEventListener('close', onLost);
  return { db, KeyRange };
}

/** Closes the connection of an open request that idb could not take over, once it opens. */
function abandon(request: IDBOpenDBRequest): void {
  request.onsuccess = () => request.result.close();
}

function mismatch(cause: unknown): ConfigurationError {
  return new ConfigurationError(
    'idb could not use this IndexedDB factory: idb recognises IndexedDB objects by the global IDB* ' +
      'classes (IDBRequest, IDBDatabase, …), and this factory is not of their implementation. ' +
      "In Node, `import 'fake-indexeddb/auto'` and pass factories from that same fake-indexeddb " +
      '(`new IDBFactory()`), or pass an `idb` module whose wrap() handles your factory.',
    cause === undefined ? undefined : { cause },
  );
}

/** Queues `operations` into a readwrite transaction's entries store. */
function queue(
  store: WriteStore,
  KeyRange: typeof IDBKeyRange,
  operations: readonly StorageOperation[],
  texts: readonly (string | undefined)[],
  requests: Array<Promise<unknown>>,
): void {
  operations.forEach((op, i) => {
    if (op.type === 'put') requests.push(store.put(texts[i]!, [op.collection, op.key]));
    else if (op.type === 'delete') requests.push(store.delete([op.collection, op.key]));
    else requests.push(store.delete(collectionRange(KeyRange, op.collection)));
  });
}

function collectionRange(KeyRange: typeof IDBKeyRange, collection: string): IDBKeyRange {
  return KeyRange.bound([collection], [collection, []]);
}

/**
 * Runs `fill` in one readwrite transaction, which queues its requests into `requests`; resolves when
 * the transaction commits. Rejects with the first failed request's error (IndexedDB then aborts the
 * whole transaction) or the abort's error. Every request's promise is awaited or caught, so none is
 * left to reject unhandled.
 */
async function readwrite(
  db: Database,
  storeName: string,
  fill: (store: WriteStore, requests: Array<Promise<unknown>>) => void,
): Promise<void> {
  const tx = db.transaction(storeName, 'readwrite');
  const requests: Array<Promise<unknown>> = [];
  try {
    fill(tx.store as WriteStore, requests);
  } catch (error) {
    for (const queued of requests) queued.catch(() => undefined);
    try {
      tx.abort();
    } catch {
      // Already finished or aborting; the original error is the one that matters.
    }
    await tx.done.catch(() => undefined);
    throw error;
  }
  await Promise.all([...requests, tx.done]);
}
