/**
 * A guarded reconcile of a study's records: list the whole study, store what is missing or stale,
 * and tombstone cached records the server no longer has, unless that would delete from an empty
 * listing or more than `maxShare` of the cache. The watermark is left alone.
 */
import type { Record_ } from '../../endpoints/records.js';
import type { SyncContext } from './context.js';
import { ReconcileRefusedError } from './errors.js';
import { collectionOf } from './keys.js';
import type { HeldLock } from './lock.js';
import { applyRecords, idOf, sweep } from './record-writes.js';
import type { ReconcileOptions, ReconcileResult } from './types.js';

/** Repairs the cached records of a study against one full listing (see the module comment). */
export async function reconcileRecords(
  ctx: SyncContext,
  studyKey: string,
  options: ReconcileOptions,
  maxShare: number,
  lock: HeldLock,
): Promise<ReconcileResult> {
  const storage = ctx.storage;
  const run = ctx.run(studyKey, 'records', 'reconcile', options);
  const batchSize = ctx.batchSize;
  const live = collectionOf(studyKey, 'records');
  run.emit('start', 0);
  const cached = await storage.count(live);

  // Store everything the server lists (it is current), remembering which ids it listed.
  const listed = new Set<number>();
  const changed = new Map<number, Record_>();
  const listing = ctx.client.records.list(studyKey, { ...ctx.listOptions(options.signal), sort: 'recordId' });
  for await (const page of listing.pages()) {
    run.emit('fetched', page.items.length, page.totalElements);
    for (const record of page.items) {
      const recordId = idOf(record);
      listed.add(recordId);
      changed.set(recordId, record);
    }
    if (changed.size >= batchSize) {
      await applyRecords(ctx, studyKey, changed, [], run, lock);
      changed.clear();
    }
  }
  if (changed.size > 0) await applyRecords(ctx, studyKey, changed, [], run, lock);

  // Live records the server no longer lists.
  const missing = await unlisted(ctx, studyKey, listed);
  if (!options.force && missing > 0) {
    if (listed.size === 0) {
      throw new ReconcileRefusedError('empty-listing', { cached, listed: 0, wouldDelete: missing, maxShare });
    }
    if (missing > maxShare * Math.max(cached, 1)) {
      throw new ReconcileRefusedError('too-many-deletions', {
        cached,
        listed: listed.size,
        wouldDelete: missing,
        maxShare,
      });
    }
  }
  if (missing > 0) await sweep(ctx, studyKey, listed, 'reconcile', run, lock);
  const entry = await ctx.ledger.get(studyKey, 'records');
  await ctx.commit(lock, [
    ctx.ledger.op({ ...entry, error: null, metadata: { ...entry.metadata, lastReconcile: run.summary() } }),
  ]);
  run.emit('done', 0);
  return {
    studyKey,
    listed: listed.size,
    cached,
    stored: run.stored,
    added: run.added,
    changed: run.changed,
    deleted: run.deleted,
    durationMs: run.durationMs,
  };
}

/** How many live cached records are not in `listed`. */
async function unlisted(ctx: SyncContext, studyKey: string, listed: ReadonlySet<number>): Promise<number> {
  let n = 0;
  for await (const batch of ctx.storage.scan(collectionOf(studyKey, 'records'), { batchSize: 1000 })) {
    for (const [key] of batch) if (!listed.has(Number(key))) n++;
  }
  return n;
}
