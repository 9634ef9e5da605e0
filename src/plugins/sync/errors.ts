/** Errors of the sync plugin; all are `ImednetError`s, so one `catch` handles the whole SDK. */
import { ImednetError } from '../../core/errors.js';

/** A reconcile would have deleted more than allowed (or everything, from an empty listing). */
export class ReconcileRefusedError extends ImednetError {
  static override readonly kind: string = 'ReconcileRefusedError';
  /** Why: `empty-listing` or `too-many-deletions`. */
  readonly reason: 'empty-listing' | 'too-many-deletions';
  /** Live records in the cache before the reconcile. */
  readonly cached: number;
  /** Records the listing returned. */
  readonly listed: number;
  /** Cached records the listing did not contain (what would have been deleted). */
  readonly wouldDelete: number;

  constructor(
    reason: 'empty-listing' | 'too-many-deletions',
    counts: { cached: number; listed: number; wouldDelete: number; maxShare: number },
  ) {
    super(
      reason === 'empty-listing'
        ? `Reconcile refused: the server listed no records but the cache holds ${counts.cached}; pass { force: true } to empty the cache`
        : `Reconcile refused: it would delete ${counts.wouldDelete} of ${counts.cached} cached records, more than ${Math.round(counts.maxShare * 1000) / 10}%; pass { force: true } to allow it`,
    );
    this.reason = reason;
    this.cached = counts.cached;
    this.listed = counts.listed;
    this.wouldDelete = counts.wouldDelete;
  }
}

/** The writer lock of a study could not be taken in time. */
export class LockTimeoutError extends ImednetError {
  static override readonly kind: string = 'LockTimeoutError';
  /** The lock's name. */
  readonly lock: string;
  constructor(lock: string, waitedMs: number) {
    super(`Timed out after ${waitedMs} ms waiting for the sync writer lock "${lock}"`);
    this.lock = lock;
  }
}

/** The writer lock expired or was taken by another writer while a sync was running. */
export class LockLostError extends ImednetError {
  static override readonly kind: string = 'LockLostError';
  /** The lock's name. */
  readonly lock: string;
  constructor(lock: string) {
    super(`The sync writer lock "${lock}" was lost; the run stopped before writing further`);
    this.lock = lock;
  }
}
