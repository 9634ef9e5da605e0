/**
 * How records enter and leave the cache, for every records job (first sync, incremental sync,
 * reconcile): a live record is kept under its id; a deleted one moves to the tombstones, with the
 * copy last seen, in the same atomic write.
 */
import { ResponseValidationError } from '../../core/errors.js';
import type { Record_ } from '../../endpoints/records.js';
import type { StorageOperation } from '../../storage/types.js';
import type { SyncContext } from './context.js';
import { collectionOf, idKey } from './keys.js';
import type { HeldLock } from './lock.js';
import { type Run, sameJson } from './run.js';
import type { Tombstone } from './types.js';

/** A record's id, which the cache keys it by; a record without one cannot be cached. */
export function idOf(record: Record_): number {
  const id = record.recordId;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new ResponseValidationError('The API returned a record without a valid recordId', [
      { path: 'recordId', message: 'expected a non-negative integer' },
    ]);
  }
  return id;
}

/** The two operations that move a record from the live view to its tombstone. */
export function bury(live: string, dead: string, key: string, tombstone: Tombstone): StorageOperation[] {
  return [
    { type: 'delete', collection: live, key },
    { type: 'put', collection: dead, key, value: tombstone },
  ];
}

/** The tombstone of a record the API returned with `deleted: true`. */
export function flaggedTombstone(recordId: number, record: Record_): Tombstone {
  return { recordId, reason: 'deleted', deletedAt: record.dateModified ?? null, record };
}

/** What one write of records did to the live cache. */
export interface RecordCounts {
  /** Records new to the live cache. */
  added: number;
  /** Records the live cache held in another version. */
  changed: number;
  /** Records that left the live cache (tombstoned). */
  deleted: number;
}

/**
 * Writes changed records and vanished ones (as tombstones) in one atomic write, together with the
 * ledger operation `ledgerOp` builds (it is told what this write adds, changes and deletes). A
 * record equal to its cached copy is neither written nor counted.
 */
export async function applyRecords(
  ctx: SyncContext,
  studyKey: string,
  changed: ReadonlyMap<number, Record_>,
  vanished: readonly { recordId: number; at: string | null }[],
  run: Run,
  lock: HeldLock,
  ledgerOp?: (pending: RecordCounts) => StorageOperation,
): Promise<void> {
  const storage = ctx.storage;
  const live = collectionOf(studyKey, 'records');
  const dead = collectionOf(studyKey, 'deleted');
  const ops: StorageOperation[] = [];
  const counts: RecordCounts = { added: 0, changed: 0, deleted: 0 };
  const keys = [...changed.keys()].map(idKey);
  const cachedNow = keys.length > 0 ? await storage.getMany<Record_>(live, keys) : [];
  [...changed.entries()].forEach(([recordId, record], i) => {
    const key = keys[i] as string;
    const cached = cachedNow[i];
    if (record.deleted === true) {
      ops.push(...bury(live, dead, key, flaggedTombstone(recordId, record)));
      // A deletion only if it was live (a refetched tombstone is not a deletion).
      if (cached !== undefined) counts.deleted++;
    } else if (cached === undefined) {
      ops.push(
        { type: 'put', collection: live, key, value: record },
        { type: 'delete', collection: dead, key },
      );
      counts.added++;
    } else if (!sameJson(cached, record)) {
      ops.push({ type: 'put', collection: live, key, value: record });
      counts.changed++;
    }
  });
  const gone = vanished.filter((v) => !changed.has(v.recordId));
  if (gone.length > 0) {
    const goneKeys = gone.map((v) => idKey(v.recordId));
    const [cached, buried] = await Promise.all([
      storage.getMany<Record_>(live, goneKeys),
      storage.getMany<Tombstone>(dead, goneKeys),
    ]);
    gone.forEach((v, i) => {
      const key = goneKeys[i] as string;
      const record = cached[i];
      if (record === undefined && buried[i] !== undefined) return; // already tombstoned
      const tombstone: Tombstone = { recordId: v.recordId, reason: 'vanished', deletedAt: v.at };
      if (record !== undefined) tombstone.record = record;
      ops.push(...bury(live, dead, key, tombstone));
      counts.deleted++;
    });
  }
  if (ledgerOp) ops.push(ledgerOp(counts));
  if (ops.length === 0) return;
  await ctx.commit(lock, ops);
  run.store(counts.added, counts.changed);
  if (counts.deleted > 0) run.emit('deleted', counts.deleted);
}

/** Tombstones every live cached record that is not in `listed`, in atomic batches. */
export async function sweep(
  ctx: SyncContext,
  studyKey: string,
  listed: ReadonlySet<number>,
  reason: Tombstone['reason'],
  run: Run,
  lock: HeldLock,
): Promise<void> {
  const storage = ctx.storage;
  const batchSize = ctx.batchSize;
  const live = collectionOf(studyKey, 'records');
  const dead = collectionOf(studyKey, 'deleted');
  const missing: [number, Record_][] = [];
  for await (const batch of storage.scan<Record_>(live, { batchSize: 1000 })) {
    for (const [key, record] of batch) {
      const recordId = Number(key);
      if (!listed.has(recordId)) missing.push([recordId, record]);
    }
  }
  for (let i = 0; i < missing.length; i += batchSize) {
    const ops: StorageOperation[] = [];
    for (const [recordId, record] of missing.slice(i, i + batchSize)) {
      const key = idKey(recordId);
      ops.push(...bury(live, dead, key, { recordId, reason, deletedAt: null, record }));
    }
    await ctx.commit(lock, ops);
    run.emit('deleted', ops.length / 2);
  }
}
