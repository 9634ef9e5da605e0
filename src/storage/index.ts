/**
 * `imednet/storage`: the storage contract and the in-memory adapter. Other adapters have their own
 * subpaths (`imednet/storage/indexeddb`, `imednet/storage/sqlite/...`) so that importing this one
 * loads no storage library.
 */
export { type MemoryStorageOptions, memoryStorage } from './memory.js';
export type {
  HeldStoreLock,
  ScanOptions,
  StorageAdapter,
  StorageCapabilities,
  StorageOperation,
} from './types.js';
