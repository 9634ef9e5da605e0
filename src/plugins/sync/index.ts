/**
 * `imednet/plugins/sync`: a local cache of a study, kept up to date incrementally.
 *
 * @example
 * import { Imednet } from 'imednet';
 * import { sync } from 'imednet/plugins/sync';
 * import { memoryStorage } from 'imednet/storage';
 *
 * const Client = Imednet.plugin(sync());
 * const client = new Client({ apiKey, securityKey, storage: memoryStorage() });
 * await client.cache.syncStudy('MYSTUDY');
 * for await (const chunk of client.cache.iterateRecords('MYSTUDY')) console.log(chunk.length);
 */
import type { Imednet } from '../../client.js';
import type { StorageAdapter } from '../../storage/types.js';
import { SyncCache } from './cache.js';
import type { SyncOptions } from './types.js';

/** Client options the sync plugin reads: `new Client({ apiKey, securityKey, storage, sync })`. */
export interface SyncClientOptions {
  /** Storage for the cache when `sync()` was given none; see `imednet/storage/*`. */
  storage?: StorageAdapter;
  /** Options of the sync plugin (the plugin's own options take precedence). */
  sync?: Omit<SyncOptions, 'storage'>;
}

/**
 * The sync plugin: adds `client.cache` (a {@link SyncCache}). Storage comes from `sync({ storage })`
 * or from the client option `storage`.
 * @example const Client = Imednet.plugin(sync({ storage: betterSqliteStorage({ filename: 'study.db' }) }));
 */
export function sync(options: SyncOptions = {}) {
  return function syncPlugin(client: Imednet, clientOptions: SyncClientOptions): { cache: SyncCache } {
    const merged: SyncOptions = { ...(clientOptions?.sync ?? {}), ...options };
    return { cache: new SyncCache(client, merged, clientOptions?.storage) };
  };
}

export { SyncCache } from './cache.js';
export { LockLostError, LockTimeoutError, ReconcileRefusedError } from './errors.js';
export { collectionOf, ID_FIELDS, ID_WIDTH, idKey, LEDGER_COLLECTION, STREAMS, type Stream } from './keys.js';
export {
  emptyEntry,
  type FullSyncProgress,
  Ledger,
  type LedgerEntry,
  type LedgerMetadata,
  type LedgerStatus,
  type RunSummary,
} from './ledger.js';
export type { HeldLock, LockMode, WriterLockOptions } from './lock.js';
export { CacheReader } from './reads.js';
export type {
  ProgressListener,
  ReadOptions,
  ReconcileOptions,
  ReconcileResult,
  StreamItems,
  StudySyncOptions,
  StudySyncResult,
  SyncMode,
  SyncOptions,
  SyncProgressEvent,
  SyncResult,
  SyncRunOptions,
  Tombstone,
} from './types.js';
export { SyncWorker, type SyncWorkerOptions, type SyncWorkerReport } from './worker.js';
