import { Lifecycle } from './lifecycle.js';
import { batchSizeOf, lockExpiry } from './options.js';
import type { HeldStoreLock, ScanOptions, StorageAdapter, StorageOperation } from './types.js';
import { decodeValue, encodePuts, encodeValue } from './values.js';

/** Options of {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /** Adapter name for messages (default `memory`). */
  name?: string;
}

/**
 * One collection. `sorted` is the key index in string order, rebuilt lazily: only a new or removed
 * key invalidates it (an overwrite does not), and a scan takes the current array as its snapshot,
 * so a scan sorts at most once however many batches it yields. A rebuilt index is a new array,
 * which leaves snapshots held by running scans untouched.
 */
interface Table {
  values: Map<string, string>;
  sorted: string[] | undefined;
}

interface Lock {
  owner: string;
  expires: number;
}

/**
 * A store that lives in this process's memory: the default everywhere, and what tests use.
 *
 * @example
 * const storage = memoryStorage();
 * await storage.putMany('subjects', [['01-001', { status: 'Enrolled' }]]);
 */
export function memoryStorage(options: MemoryStorageOptions = {}): StorageAdapter {
  const name = options.name ?? 'memory';
  const lifecycle = new Lifecycle(name);
  const tables = new Map<string, Table>();
  const locks = new Map<string, Lock>();

  const tableFor = (collection: string): Table => {
    let table = tables.get(collection);
    if (!table) {
      table = { values: new Map(), sorted: undefined };
      tables.set(collection, table);
    }
    return table;
  };

  const put = (collection: string, key: string, text: string): void => {
    const table = tableFor(collection);
    if (!table.values.has(key)) table.sorted = undefined;
    table.values.set(key, text);
  };

  const remove = (collection: string, key: string): void => {
    const table = tables.get(collection);
    if (table?.values.delete(key)) table.sorted = undefined;
  };

  const clearCollection = (collection: string): void => {
    const table = tables.get(collection);
    if (!table) return;
    // Emptying the old map (not just dropping it) makes running scans skip the cleared entries.
    table.values.clear();
    tables.delete(collection);
  };

  // Applying is synchronous, so no other call can observe a half-applied write.
  const apply = (operations: readonly StorageOperation[], texts: readonly (string | undefined)[]): void => {
    operations.forEach((op, i) => {
      if (op.type === 'put') put(op.collection, op.key, texts[i]!);
      else if (op.type === 'delete') remove(op.collection, op.key);
      else clearCollection(op.collection);
    });
  };

  return {
    name,
    capabilities: { persistent: false, shared: false, locks: true, originScoped: false },

    async get<T>(collection: string, key: string): Promise<T | undefined> {
      lifecycle.check();
      const text = tables.get(collection)?.values.get(key);
      return text === undefined ? undefined : decodeValue<T>(text);
    },

    async getMany<T>(collection: string, keys: readonly string[]): Promise<(T | undefined)[]> {
      lifecycle.check();
      const values = tables.get(collection)?.values;
      return keys.map((key) => {
        const text = values?.get(key);
        return text === undefined ? undefined : decodeValue<T>(text);
      });
    },

    async putMany(collection, entries) {
      lifecycle.check();
      // Serialise everything first: a bad value must leave the store untouched.
      const encoded = entries.map(([key, value]) => [key, encodeValue(collection, key, value)] as const);
      for (const [key, text] of encoded) put(collection, key, text);
    },

    async deleteMany(collection, keys) {
      lifecycle.check();
      for (const key of keys) remove(collection, key);
    },

    async *scan<T>(collection: string, options?: ScanOptions): AsyncGenerator<Array<[string, T]>> {
      lifecycle.check();
      const size = batchSizeOf(options);
      const table = tables.get(collection);
      if (!table) return;
      table.sorted ??= [...table.values.keys()].sort();
      const keys = table.sorted;
      const prefix = options?.prefix ?? '';
      let index = firstIndex(keys, options);
      while (index < keys.length) {
        lifecycle.check();
        const batch: Array<[string, T]> = [];
        for (; index < keys.length && batch.length < size; index++) {
          const key = keys[index]!;
          if (!key.startsWith(prefix)) {
            index = keys.length;
            break;
          }
          const text = table.values.get(key);
          if (text !== undefined) batch.push([key, decodeValue<T>(text)]);
        }
        if (batch.length > 0) yield batch;
      }
    },

    async count(collection) {
      lifecycle.check();
      return tables.get(collection)?.values.size ?? 0;
    },

    async write(operations: readonly StorageOperation[]) {
      lifecycle.check();
      apply(operations, encodePuts(operations));
    },

    async writeLocked(lock: HeldStoreLock, operations: readonly StorageOperation[]) {
      lifecycle.check();
      const expires = lockExpiry(lock.ttlMs);
      const texts = encodePuts(operations);
      const held = locks.get(lock.name);
      if (held?.owner !== lock.owner) return false;
      held.expires = expires;
      apply(operations, texts);
      return true;
    },

    async clear(collection?: string) {
      lifecycle.check();
      if (collection !== undefined) clearCollection(collection);
      else for (const name of [...tables.keys()]) clearCollection(name);
    },

    async close() {
      if (!lifecycle.markClosed()) return;
      for (const name of [...tables.keys()]) clearCollection(name);
      locks.clear();
    },

    async tryLock(lockName: string, owner: string, ttlMs: number) {
      lifecycle.check();
      const now = Date.now();
      const expires = lockExpiry(ttlMs, now);
      const held = locks.get(lockName);
      if (held && held.owner !== owner && held.expires > now) return false;
      locks.set(lockName, { owner, expires });
      return true;
    },

    async renewLock(lockName: string, owner: string, ttlMs: number) {
      lifecycle.check();
      const expires = lockExpiry(ttlMs);
      const held = locks.get(lockName);
      if (held?.owner !== owner) return false;
      held.expires = expires;
      return true;
    },

    async unlock(lockName: string, owner: string) {
      lifecycle.check();
      if (locks.get(lockName)?.owner === owner) locks.delete(lockName);
    },
  };
}

/** Index of the first key after `options.after` and at or past `options.prefix` (binary search). */
function firstIndex(keys: readonly string[], options: ScanOptions | undefined): number {
  let index = 0;
  if (options?.prefix) index = lowerBound(keys, options.prefix, false);
  if (options?.after !== undefined) index = Math.max(index, lowerBound(keys, options.after, true));
  return index;
}

function lowerBound(keys: readonly string[], target: string, exclusive: boolean): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const key = keys[mid]!;
    if (key < target || (exclusive && key === target)) low = mid + 1;
    else high = mid;
  }
  return low;
}
