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
import type { Run } from './run.js';
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

/**
 * Writes changed records and vanished ones (as tombstones) in one atomic write, together with the
 * ledger operation `ledgerOp` builds (it is told what this write stores and deletes).
 */
export async function applyRecords(
  ctx: SyncContext,
  studyKey: string,
  changed: ReadonlyMap<number, Record_>,
  vanished: readonly { recordId: number; at: string | null }[],
  run: Run,
  lock: HeldLock,
  ledgerOp?: (pending: { stored: number; deleted: number }) => StorageOperation,
): Promise<void> {
  const storage = ctx.storage;
  const live = collectionOf(studyKey, 'records');
  const dead = collectionOf(studyKey, 'deleted');
  const ops: StorageOperation[] = [];
  let stored = 0;
  let deleted = 0;
  // Records flagged deleted count as deletions only if they were live (a refetch is not a deletion).
  const flagged = [...changed].filter(([, record]) => record.deleted === true).map(([id]) => idKey(id));
  const wasLive = new Set<string>();
  if (flagged.length > 0) {
    const found = await storage.getMany(live, flagged);
    flagged.forEach((key, i) => {
      if (found[i] !== undefined) wasLive.add(key);
    });
  }
  for (const [recordId, record] of changed) {
    const key = idKey(recordId);
    if (record.deleted === true) {
      ops.push(...bury(live, dead, key, flaggedTombstone(recordId, record)));
      if (wasLive.has(key)) deleted++;
    } else {
      ops.push(
        { type: 'put', collection: live, key, value: record },
        { type: 'delete', collection: dead, key },
      );
      stored++;
    }
  }
  const gone = vanished.filter((v) => !changed.has(v.recordId));
  if (gone.length > 0) {
    const keys = gone.map((v) => idKey(v.recordId));
    const [cached, buried] = await Promise.all([
      storage.getMany<Record_>(live, keys),
      storage.getMany<Tombstone>(dead, keys),
    ]);
    gone.forEach((v, i) => {
      const key = keys[i] as string;
      const record = cached[i];
      if (record === undefined && buried[i] !== undefined) return; // already tombstoned
      const tombstone: Tombstone = { recordId: v.recordId, reason: 'vanished', deletedAt: v.at };
      if (record !== undefined) tombstone.record = record;
      ops.push(...bury(live, dead, key, tombstone));
      deleted++;
    });
  }
  if (ledgerOp) ops.push(ledgerOp({ stored, deleted }));
  if (ops.length === 0) return;
  await ctx.commit(lock, ops);
  if (stored > 0) run.emit('stored', stored);
  if (deleted > 0) run.emit('deleted', deleted);
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
