/**
 * A later sync of a study's records: records with `dateModified >= watermark` (newest first, so
 * page 0 tells the new watermark before anything else is fetched), then revisions with
 * `dateCreated >= watermark`: a record whose latest revision is deleted and that the listing did not
 * return has vanished. Data, tombstones and the new watermark go in one atomic write. Anything that
 * changes while a run is under way carries a timestamp at or after the new watermark, so the next
 * run sees it.
 */
import { isNotFoundError } from '../../core/errors.js';
import type { RecordRevision } from '../../endpoints/record-revisions.js';
import type { Record_ } from '../../endpoints/records.js';
import type { SyncContext } from './context.js';
import type { LedgerEntry } from './ledger.js';
import type { HeldLock } from './lock.js';
import { applyRecords, idOf } from './record-writes.js';
import { eachLimit, positiveInteger } from './run.js';
import type { SyncResult, SyncRunOptions } from './types.js';

/** Brings the cached records up to date from the watermark in `start` (which must have one). */
export async function incrementalRecords(
  ctx: SyncContext,
  studyKey: string,
  start: LedgerEntry,
  options: SyncRunOptions,
  lock: HeldLock,
): Promise<SyncResult> {
  const run = ctx.run(studyKey, 'records', 'incremental', options);
  const maxDelta = positiveInteger(ctx.options.maxDeltaInMemory, 50_000, 'maxDeltaInMemory');
  const listOptions = ctx.listOptions(options.signal);
  const since = start.lastTimestamp as string;
  run.emit('start', 0);

  let entry: LedgerEntry = { ...start, status: 'running', error: null };
  await ctx.commit(lock, [ctx.ledger.op(entry)]);

  // Two listings run side by side, both newest first, so that each one's page 0 names the newest
  // change it knows of before any later page is asked for:
  // 1. records with dateModified >= watermark;
  // 2. revisions with dateCreated >= watermark (the latest one per record the listing missed).
  // The next watermark is the older of the two page-0 timestamps: a record change after page 0 of
  // (1) is at or after the first, a deletion after page 0 of (2) is at or after the second, and a
  // record seen live before its deletion has a revision at or after the watermark as well.
  const inner = new AbortController();
  const stop = () => inner.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stop, { once: true });
  const shared = { ...listOptions, signal: inner.signal };
  let newestRecord: string | null = null;
  let newestRevision: string | null = null;
  const changed = new Map<number, Record_>();
  const seen = new Set<number>();
  const latest = new Map<number, RecordRevision>();
  const readRecords = async () => {
    const listing = ctx.client.records.list(studyKey, {
      ...shared,
      filter: { dateModified: { gte: since } },
      sort: ['-dateModified', 'recordId'],
    });
    for await (const page of listing.pages()) {
      if (page.page === 0) newestRecord = page.items[0]?.dateModified ?? null;
      run.emit('fetched', page.items.length, page.totalElements);
      for (const record of page.items) {
        const recordId = idOf(record);
        seen.add(recordId);
        const previous = changed.get(recordId);
        // Duplicates come from pages shifting under concurrent edits; the newer copy wins.
        if (!previous || !((previous.dateModified ?? '') > (record.dateModified ?? '')))
          changed.set(recordId, record);
      }
      if (changed.size >= maxDelta) {
        // Too large for one write: store this part now; the watermark still waits for the end.
        await applyRecords(ctx, studyKey, changed, [], run, lock);
        changed.clear();
      }
    }
  };
  const readRevisions = async () => {
    const revisions = ctx.client.recordRevisions.list(studyKey, {
      ...shared,
      filter: { dateCreated: { gte: since } },
      sort: ['-dateCreated', 'recordRevisionId'],
    });
    for await (const page of revisions.pages()) {
      if (page.page === 0) newestRevision = page.items[0]?.dateCreated ?? null;
      for (const revision of page.items) {
        const recordId = revision.recordId;
        if (typeof recordId !== 'number') continue;
        const previous = latest.get(recordId);
        if (!previous || isLater(revision, previous)) latest.set(recordId, revision);
      }
    }
  };
  const failFast = (task: Promise<void>) =>
    task.catch((error: unknown) => {
      inner.abort(error);
      throw error;
    });
  try {
    await Promise.all([failFast(readRecords()), failFast(readRevisions())]);
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
  for (const recordId of seen) latest.delete(recordId);

  const vanished: { recordId: number; at: string | null }[] = [];
  const missed: { recordId: number; at: string | null }[] = [];
  for (const [recordId, revision] of latest) {
    (revision.deleted === true ? vanished : missed).push({ recordId, at: revision.dateCreated ?? null });
  }
  // A change with no matching record in the listing: the listing moved under us (or the record
  // changed after it). Ask for those records one by one. A lookup that finds nothing is not a
  // deletion (only a deleted revision is, and the next run will see that one if it comes): the
  // cached copy stays, and the watermark stays at or before the change, so the next run asks again.
  let unresolved = null as string | null;
  await eachLimit(missed, 4, async (miss) => {
    try {
      const getOptions: { signal?: AbortSignal } = {};
      if (options.signal) getOptions.signal = options.signal;
      const record = await ctx.client.records.get(studyKey, miss.recordId, getOptions);
      run.emit('fetched', 1);
      changed.set(idOf(record), record);
    } catch (error) {
      if (!isNotFoundError(error)) throw error;
      const at = miss.at ?? since;
      if (unresolved === null || at < unresolved) unresolved = at;
    }
  });

  // 3. One atomic write: data, tombstones and the ledger with the new watermark.
  // Both listings must have named a newest change; otherwise the watermark stays (a run with
  // only deletions refetches them next time, which is harmless).
  let watermark = since;
  if (newestRecord !== null && newestRevision !== null) {
    const older: string = newestRecord < newestRevision ? newestRecord : newestRevision;
    if (older > since) watermark = older;
  }
  // (A revision listed here is at or after `since`, so this never moves the watermark back.)
  if (unresolved !== null && unresolved < watermark) watermark = unresolved;
  const processed = seen.size + vanished.length + missed.length;
  entry = {
    ...entry,
    lastTimestamp: watermark,
    status: 'idle',
    error: null,
    recordsProcessed: processed,
    metadata: {
      ...entry.metadata,
      totalProcessed: (entry.metadata.totalProcessed ?? 0) + processed,
    },
  };
  await applyRecords(ctx, studyKey, changed, vanished, run, lock, (pending) => {
    const summary = run.summary();
    summary.added = (summary.added ?? 0) + pending.added;
    summary.changed = (summary.changed ?? 0) + pending.changed;
    summary.stored += pending.added + pending.changed;
    summary.deleted += pending.deleted;
    entry.metadata = { ...entry.metadata, lastRun: summary };
    return ctx.ledger.op(entry);
  });
  return run.finish(since, watermark);
}

/** Whether revision `a` comes after `b` of the same record. */
function isLater(a: RecordRevision, b: RecordRevision): boolean {
  if (
    typeof a.recordRevision === 'number' &&
    typeof b.recordRevision === 'number' &&
    a.recordRevision !== b.recordRevision
  )
    return a.recordRevision > b.recordRevision;
  return (a.recordRevisionId ?? 0) > (b.recordRevisionId ?? 0);
}
