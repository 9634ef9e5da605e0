import { ConfigurationError } from '../core/errors.js';
import type { ScanOptions } from './types.js';

/** Entries per scan batch when the caller does not say. */
export const DEFAULT_BATCH_SIZE = 500;

/** The scan's batch size, checked: a zero, negative or fractional size would never finish. */
export function batchSizeOf(options: ScanOptions | undefined): number {
  const size = options?.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(size) || size < 1) {
    throw new ConfigurationError(`scan batchSize must be a positive integer, got ${String(size)}`);
  }
  return size;
}

/** When a lock taken now for `ttlMs` expires (epoch ms); rejects a ttl that is not a positive number. */
export function lockExpiry(ttlMs: number, now = Date.now()): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new ConfigurationError(
      `tryLock ttlMs must be a positive number of milliseconds, got ${String(ttlMs)}`,
    );
  }
  return now + ttlMs;
}
