/**
 * The first sync of a study's records. The newest `dateModified` on the server is read first (the
 * future watermark); then the study is listed in recordId order and written in atomic batches, each
 * carrying the ledger's cursor. A crash between batches loses nothing: the next run resumes after
 * the cursor, and puts keyed by recordId cannot duplicate. The watermark is written only after the
 * last batch.
 *
 * Pages are offsets, so a record hard-deleted mid-listing shifts every later page by one and the
 * record at a page's start is never listed. Each batch therefore also stores the page boundaries
 * where ids jump; when revisions show a deletion since the sync began, the ids between the two sides
 * of each such boundary are listed again by id, and what was skipped is stored.
 */
import type { Record_ } from '../../endpoints/records.js';
import type { StorageOperation } from '../../storage/types.js';
import { EPOCH, type SyncContext } from './context.js';
import { collectionOf, idKey } from './keys.js';
import type { LedgerEntry } from './ledger.js';
import type { HeldLock } from './lock.js';
import { applyRecords, bury, flaggedTombstone, idOf, sweep } from './record-writes.js';
import { eachLimit, sameJson } from './run.js';
import type { SyncResult, SyncRunOptions } from './types.js';

/** A first sync's page boundary where ids jump: records between the two may have been skipped. */
interface Gap {
  /** The last recordId of the earlier page. */
  after: number;
  /** The first recordId of the later page. */
  before: number;
}

/** Runs (or resumes) the first sync of a study's records, from the ledger entry `start`. */
export async function fullRecords(
  ctx: SyncContext,
  studyKey: string,
  start: LedgerEntry,
  options: SyncRunOptions,
  lock: HeldLock,
): Promise<SyncResult> {
  const storage = ctx.storage;
  const run = ctx.run(studyKey, 'records', 'full', options);
  const batchSize = ctx.batchSize;
  const live = collectionOf(studyKey, 'records');
  const dead = collectionOf(studyKey, 'deleted');
  const listOptions = ctx.listOptions(options.signal);

  let full = start.metadata.full;
  const resumed = full !== undefined;
  run.emit('start', 0);
  if (full === undefined) {
    const highWater = await ctx.newest(studyKey, 'records', options.signal);
    full = { highWater, cursor: 0, startedAt: run.startedAt, attempts: 1 };
  } else {
    full = { ...full, attempts: full.attempts + 1 };
  }
  let entry: LedgerEntry = {
    ...start,
    status: 'running',
    error: null,
    recordsProcessed: 0,
    metadata: { ...start.metadata, full },
  };
  await ctx.commit(lock, [ctx.ledger.op(entry)]);

  // Tombstones exist only if an earlier attempt (or an earlier life of this study) wrote some.
  const mayHaveTombstones = (await storage.count(dead)) > 0;
  // A fresh full sync over cached data (after a ledger reset) also drops what the server no longer
  // lists; it remembers the listed ids for that. (A resumed one cannot know what earlier attempts
  // listed; `reconcile` repairs that case.)
  const hadRecords = (await storage.count(live)) > 0;
  const listed = !resumed && hadRecords ? new Set<number>() : undefined;
  const tombstonedNow = new Set<number>();
  const gaps = collectionOf(studyKey, 'gaps');
  let boundaries: Gap[] = [];
  let buffer: Record_[] = [];
  const flush = async () => {
    if (buffer.length === 0) return;
    const ops: StorageOperation[] = boundaries.map((gap) => ({
      type: 'put',
      collection: gaps,
      key: idKey(gap.before),
      value: gap,
    }));
    boundaries = [];
    let cursor = full!.cursor;
    let added = 0;
    let changed = 0;
    let deleted = 0;
    // Only a cache that held records before this run can hold copies to compare with.
    const keys = buffer.map((record) => idKey(idOf(record)));
    const cached = hadRecords ? await storage.getMany<Record_>(live, keys) : [];
    buffer.forEach((record, i) => {
      const recordId = idOf(record);
      const key = keys[i] as string;
      const copy = cached[i];
      listed?.add(recordId);
      if (recordId > cursor) cursor = recordId;
      if (record.deleted === true) {
        ops.push(...bury(live, dead, key, flaggedTombstone(recordId, record)));
        tombstonedNow.add(recordId);
        deleted++;
      } else if (copy === undefined) {
        ops.push({ type: 'put', collection: live, key, value: record });
        if (mayHaveTombstones || tombstonedNow.has(recordId))
          ops.push({ type: 'delete', collection: dead, key });
        added++;
      } else if (!sameJson(copy, record)) {
        ops.push({ type: 'put', collection: live, key, value: record });
        changed++;
      }
    });
    full = { ...full!, cursor };
    entry = {
      ...entry,
      recordsProcessed: entry.recordsProcessed + buffer.length,
      metadata: { ...entry.metadata, full },
    };
    ops.push(ctx.ledger.op(entry));
    await ctx.commit(lock, ops);
    buffer = [];
    run.store(added, changed);
    if (deleted > 0) run.emit('deleted', deleted);
  };

  const listing = ctx.client.records.list(studyKey, {
    ...listOptions,
    sort: 'recordId',
    filter: full.cursor > 0 ? { recordId: { gt: full.cursor } } : undefined,
  });
  // The resumed listing starts after the cursor by id, so its first page has no boundary before it.
  let lastOfPage: number | undefined;
  for await (const page of listing.pages()) {
    run.emit('fetched', page.items.length, page.totalElements);
    const first = page.items[0];
    if (first !== undefined) {
      const before = idOf(first);
      if (lastOfPage !== undefined && before - lastOfPage > 1) boundaries.push({ after: lastOfPage, before });
      lastOfPage = idOf(page.items[page.items.length - 1] as Record_);
    }
    for (const record of page.items) buffer.push(record);
    if (buffer.length >= batchSize) await flush();
  }
  await flush();
  const skipped = await skippedByShifts(ctx, studyKey, full.highWater ?? EPOCH, options.signal);
  if (skipped.size > 0) {
    run.emit('fetched', skipped.size);
    for (const recordId of skipped.keys()) listed?.add(recordId);
    await applyRecords(ctx, studyKey, skipped, [], run, lock);
  }
  if (listed && listed.size > 0) await sweep(ctx, studyKey, listed, 'vanished', run, lock);

  const watermark = full.highWater ?? EPOCH;
  const { full: _done, ...rest } = entry.metadata;
  entry = {
    ...entry,
    lastTimestamp: watermark,
    status: 'idle',
    error: null,
    metadata: {
      ...rest,
      lastRun: run.summary(),
      totalProcessed: (rest.totalProcessed ?? 0) + entry.recordsProcessed,
    },
  };
  // The page boundaries go with the first sync they belong to, in the write that ends it.
  await ctx.commit(lock, [{ type: 'clear', collection: gaps }, ctx.ledger.op(entry)]);
  return run.finish(null, watermark, resumed);
}

/**
 * The records a first sync's offset pages skipped because records before them were hard-deleted
 * while it ran. Nothing is asked when no page boundary had a jump in ids; otherwise one revisions
 * listing tells whether anything was deleted since the sync began (`since`), and only then is
 * each boundary after the first deleted id listed again from its lower side, by id.
 */
async function skippedByShifts(
  ctx: SyncContext,
  studyKey: string,
  since: string,
  signal: AbortSignal | undefined,
): Promise<Map<number, Record_>> {
  const storage = ctx.storage;
  const found = new Map<number, Record_>();
  const gaps = collectionOf(studyKey, 'gaps');
  if ((await storage.count(gaps)) === 0) return found;
  let firstDeleted = Number.POSITIVE_INFINITY;
  const deletions = ctx.client.recordRevisions.list(studyKey, {
    ...ctx.listOptions(signal),
    filter: { dateCreated: { gte: since }, deleted: true },
  });
  for await (const revision of deletions) {
    if (typeof revision.recordId === 'number' && revision.recordId < firstDeleted) {
      firstDeleted = revision.recordId;
    }
  }
  if (firstDeleted === Number.POSITIVE_INFINITY) return found;

  const suspects: Gap[] = [];
  for await (const chunk of storage.scan<Gap>(gaps, { after: idKey(firstDeleted) })) {
    for (const [, gap] of chunk) suspects.push(gap);
  }
  const getOptions: { signal?: AbortSignal } = {};
  if (signal) getOptions.signal = signal;
  await eachLimit(suspects, 4, async (gap) => {
    const between = ctx.client.records.list(studyKey, {
      ...getOptions,
      filter: { recordId: { gt: gap.after } },
      sort: 'recordId',
      concurrency: 1,
    });
    for await (const page of between.pages()) {
      for (const record of page.items) {
        if (idOf(record) >= gap.before) return;
        found.set(idOf(record), record);
      }
    }
  });
  return found;
}
