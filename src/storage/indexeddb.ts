/**
 * `imednet/storage/indexeddb`: a persistent store in the browser's IndexedDB.
 *
 * Layout: ONE object store `entries` keyed by the compound key `[collection, key]`, plus a `locks`
 * store. Object stores can only be created during a version change, so a store per collection would
 * force a reopen-and-upgrade whenever a new collection appears — blocked by every other open tab.
 * Compound keys give each collection its own contiguous, ordered key range inside one store (arrays
 * compare element by element, so `[c]` < `[c, any string]` < `[c, []]`), which serves scans, counts
 * and clears as range operations, and lets `write` span collections in one transaction.
 *
 * It talks to IndexedDB directly rather than through the `idb` wrapper: `idb` recognises requests
 * with `instanceof IDBRequest` against the *global* classes, so a factory passed in (fake-indexeddb
 * in Node, another realm's factory) would not work through it, and the few promise helpers needed
 * here are smaller than the dependency.
 */
import { ConfigurationError } from '../core/errors.js';
import { prefixEndByCodeUnit } from './keys.js';
import { Lifecycle } from './lifecycle.js';
import { batchSizeOf, lockExpiry } from './options.js';
import type { ScanOptions, StorageAdapter, StorageOperation } from './types.js';
import { decodeValue, encodeValue } from './values.js';

/** Options of {@link indexedDbStorage}. */
export interface IndexedDbStorageOptions {
  /** Database name (default `imednet`). Different names are separate stores. */
  name?: string;
  /** The IndexedDB factory (default: `globalThis.indexedDB`, read at first use). */
  indexedDB?: IDBFactory;
  /** The key-range class of the same implementation (default: `globalThis.IDBKeyRange`). */
  IDBKeyRange?: typeof IDBKeyRange;
}

const SCHEMA_VERSION = 1;
const ENTRIES = 'entries';
const LOCKS = 'locks';

interface LockRow {
  owner: string;
  expires: number;
}

/**
 * A store in IndexedDB: persistent, shared by the tabs of an origin, with locks kept in the database.
 *
 * @example
 * const storage = indexedDbStorage({ name: 'my-study-cache' });
 * // In Node tests: import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
 * const test = indexedDbStorage({ name: 'test', indexedDB, IDBKeyRange });
 */
export function indexedDbStorage(options: IndexedDbStorageOptions = {}): StorageAdapter {
  const dbName = options.name ?? 'imednet';
  const lifecycle = new Lifecycle('indexeddb');
  let opening: Promise<Connection> | undefined;

  const connection = (): Promise<Connection> => {
    lifecycle.check();
    opening ??= connect(dbName, options).catch((error: unknown) => {
      opening = undefined; // let a later call retry, e.g. after the user grants storage
      throw error;
    });
    return opening;
  };

  return {
    name: 'indexeddb',
    capabilities: { persistent: true, shared: true, locks: true },

    async get<T>(collection: string, key: string): Promise<T | undefined> {
      const { db } = await connection();
      const text = await request<string | undefined>(
        db.transaction(ENTRIES, 'readonly').objectStore(ENTRIES).get([collection, key]),
      );
      return text === undefined ? undefined : decodeValue<T>(text);
    },

    async getMany<T>(collection: string, keys: readonly string[]): Promise<(T | undefined)[]> {
      const { db } = await connection();
      if (keys.length === 0) return [];
      const store = db.transaction(ENTRIES, 'readonly').objectStore(ENTRIES);
      // All requests are queued before the first await, so the transaction cannot auto-commit early.
      const texts = await Promise.all(
        keys.map((key) => request<string | undefined>(store.get([collection, key]))),
      );
      return texts.map((text) => (text === undefined ? undefined : decodeValue<T>(text)));
    },

    async putMany(collection, entries) {
      const encoded = entries.map(([key, value]) => [key, encodeValue(collection, key, value)] as const);
      const { db } = await connection();
      await readwrite(db, ENTRIES, (store) => {
        for (const [key, text] of encoded) store.put(text, [collection, key]);
      });
    },

    async deleteMany(collection, keys) {
      const { db } = await connection();
      await readwrite(db, ENTRIES, (store) => {
        for (const key of keys) store.delete([collection, key]);
      });
    },

    async *scan<T>(collection: string, scanOptions?: ScanOptions): AsyncGenerator<Array<[string, T]>> {
      const size = batchSizeOf(scanOptions);
      const { db, KeyRange } = await connection();
      const prefix = scanOptions?.prefix ?? '';
      const after = scanOptions?.after;
      const end = prefix ? prefixEndByCodeUnit(prefix) : undefined;
      const upper = end === undefined ? [collection, []] : [collection, end];
      // Start strictly after `after` when it lies at or past the prefix, else at the prefix itself.
      let lower: [string, string] | [string] = [collection, prefix];
      let lowerOpen = false;
      if (after !== undefined && after >= prefix) {
        lower = [collection, after];
        lowerOpen = true;
      } else if (!prefix) {
        lower = [collection];
      }
      // `after` past the whole prefix range: nothing to yield (and bound() would throw on lower > upper).
      if (after !== undefined && end !== undefined && after >= end) return;
      for (;;) {
        lifecycle.check();
        const range = KeyRange.bound(lower, upper, lowerOpen, true);
        // One short transaction per batch: IndexedDB commits a transaction as soon as the caller
        // awaits anything else, so it cannot be held open while the consumer works on a batch.
        const store = db.transaction(ENTRIES, 'readonly').objectStore(ENTRIES);
        const [keys, texts] = await Promise.all([
          request<IDBValidKey[]>(store.getAllKeys(range, size)),
          request<string[]>(store.getAll(range, size)),
        ]);
        if (keys.length === 0) return;
        const batch = keys.map((compound, i): [string, T] => [
          (compound as [string, string])[1],
          decodeValue<T>(texts[i]!),
        ]);
        yield batch;
        if (keys.length < size) return;
        lower = [collection, batch[batch.length - 1]![0]];
        lowerOpen = true;
      }
    },

    async count(collection) {
      const { db, KeyRange } = await connection();
      return request<number>(
        db.transaction(ENTRIES, 'readonly').objectStore(ENTRIES).count(collectionRange(KeyRange, collection)),
      );
    },

    async write(operations: readonly StorageOperation[]) {
      const texts = operations.map((op) =>
        op.type === 'put' ? encodeValue(op.collection, op.key, op.value) : undefined,
      );
      const { db, KeyRange } = await connection();
      // One readwrite transaction: IndexedDB applies all of it or, on any error, none of it.
      await readwrite(db, ENTRIES, (store) => {
        operations.forEach((op, i) => {
          if (op.type === 'put') store.put(texts[i]!, [op.collection, op.key]);
          else if (op.type === 'delete') store.delete([op.collection, op.key]);
          else store.delete(collectionRange(KeyRange, op.collection));
        });
      });
    },

    async clear(collection?: string) {
      const { db, KeyRange } = await connection();
      await readwrite(db, ENTRIES, (store) => {
        if (collection === undefined) store.clear();
        else store.delete(collectionRange(KeyRange, collection));
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
      let acquired = false;
      await readwrite(db, LOCKS, (store) => {
        const held = store.get(name);
        // Decide inside the success callback: the transaction is guaranteed active only there.
        held.onsuccess = () => {
          const row = held.result as LockRow | undefined;
          if (row && row.owner !== owner && row.expires > now) return;
          store.put({ owner, expires } satisfies LockRow, name);
          acquired = true;
        };
      });
      return acquired;
    },

    async unlock(name: string, owner: string) {
      const { db } = await connection();
      await readwrite(db, LOCKS, (store) => {
        const held = store.get(name);
        held.onsuccess = () => {
          if ((held.result as LockRow | undefined)?.owner === owner) store.delete(name);
        };
      });
    },
  };
}

interface Connection {
  db: IDBDatabase;
  KeyRange: typeof IDBKeyRange;
}

async function connect(name: string, options: IndexedDbStorageOptions): Promise<Connection> {
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  const KeyRange = options.IDBKeyRange ?? (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange;
  if (!factory || !KeyRange) {
    throw new ConfigurationError(
      'IndexedDB is not available here. In a browser it is built in; in Node pass `indexedDB` and ' +
        '`IDBKeyRange` (e.g. from fake-indexeddb), or use memoryStorage() from imednet/storage or a ' +
        'SQLite adapter from imednet/storage/sqlite/*.',
    );
  }
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const opening = factory.open(name, SCHEMA_VERSION);
    opening.onupgradeneeded = () => {
      const upgrading = opening.result;
      if (!upgrading.objectStoreNames.contains(ENTRIES)) upgrading.createObjectStore(ENTRIES);
      if (!upgrading.objectStoreNames.contains(LOCKS)) upgrading.createObjectStore(LOCKS);
    };
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error ?? new Error(`Could not open IndexedDB database "${name}"`));
  });
  // Step aside when another tab upgrades the schema, instead of blocking it forever.
  db.onversionchange = () => db.close();
  return { db, KeyRange };
}

function collectionRange(KeyRange: typeof IDBKeyRange, collection: string): IDBKeyRange {
  return KeyRange.bound([collection], [collection, []]);
}

function request<T>(req: IDBRequest): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error);
  });
}

/** Runs `fill` in one readwrite transaction and resolves when it commits (rejects if it aborts). */
function readwrite(db: IDBDatabase, storeName: string, fill: (store: IDBObjectStore) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const tx = db.transaction(storeName, 'readwrite');
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    try {
      fill(tx.objectStore(storeName));
    } catch (error) {
      tx.abort();
      reject(error);
    }
  });
}
