/**
 * The streams besides records that a dashboard needs offline. Forms, variables, intervals and sites
 * are small: each sync lists them whole and applies the difference in one atomic write. Subjects, visits and queries are listed
 * in full the first time (and on `refresh`), then by `dateModified >= watermark`.
 */
import type { StorageOperation } from '../../storage/types.js';
import { EPOCH, type Item, type SyncContext } from './context.js';
import { collectionOf, ID_FIELDS, idKey, type Stream } from './keys.js';
import type { LedgerEntry } from './ledger.js';
import type { HeldLock } from './lock.js';
import { sameJson } from './run.js';
import type { StudySyncOptions, SyncResult, SyncRunOptions } from './types.js';

/** The streams replaced whole at every sync. */
export const METADATA_STREAMS: ReadonlySet<Stream> = new Set<Stream>([
  'forms',
  'variables',
  'intervals',
  'sites',
]);

/** Syncs one stream other than records. */
export function syncStream(
  ctx: SyncContext,
  studyKey: string,
  stream: Stream,
  options: StudySyncOptions,
  lock: HeldLock,
): Promise<SyncResult> {
  return METADATA_STREAMS.has(stream)
    ? syncMetadata(ctx, studyKey, stream, options, lock)
    : syncDated(ctx, studyKey, stream, options, lock);
}

/** Forms, variables, intervals, sites: small, so each sync lists them whole and applies the difference in one atomic write. */
async function syncMetadata(
  ctx: SyncContext,
  studyKey: string,
  stream: Stream,
  options: SyncRunOptions,
  lock: HeldLock,
): Promise<SyncResult> {
  const storage = ctx.storage;
  const run = ctx.run(studyKey, stream, 'refresh', options);
  const collection = collectionOf(studyKey, stream);
  const idField = ID_FIELDS[stream];
  const start = await ctx.ledger.get(studyKey, stream);
  run.emit('start', 0);
  const items = new Map<string, Item>();
  for await (const page of ctx.endpoint(stream).list(studyKey, ctx.listOptions(options.signal)).pages()) {
    run.emit('fetched', page.items.length, page.totalElements);
    for (const item of page.items) items.set(idKey(item[idField]), item);
  }
  // Only what differs from the cache is written: new and changed items, and deletes for dropped ones.
  let cached = 0;
  const dropped: string[] = [];
  const unchanged = new Set<string>();
  let differing = 0;
  for await (const batch of storage.scan(collection, { batchSize: 1000 })) {
    cached += batch.length;
    for (const [key, value] of batch) {
      const item = items.get(key);
      if (item === undefined) dropped.push(key);
      else if (sameJson(value, item)) unchanged.add(key);
      else differing++;
    }
  }
  const ops: StorageOperation[] = [];
  // An empty answer for a study that had items is more likely a fault than the truth: keep them.
  const keep = items.size === 0 && cached > 0;
  let added = 0;
  let changed = 0;
  if (!keep) {
    for (const key of dropped) ops.push({ type: 'delete', collection, key });
    for (const [key, value] of items) {
      if (!unchanged.has(key)) ops.push({ type: 'put', collection, key, value });
    }
    changed = differing;
    added = items.size - unchanged.size - differing;
  }
  const entry: LedgerEntry = {
    ...start,
    status: 'idle',
    error: null,
    recordsProcessed: items.size,
    metadata: {
      ...start.metadata,
      lastRun: {
        ...run.summary(),
        added,
        changed,
        stored: added + changed,
        deleted: keep ? 0 : dropped.length,
      },
    },
  };
  if (keep) entry.metadata.warning = 'The server listed nothing; the cached items were kept';
  else delete entry.metadata.warning;
  ops.push(ctx.ledger.op(entry));
  await ctx.commit(lock, ops);
  run.store(added, changed);
  if (!keep && dropped.length > 0) run.emit('deleted', dropped.length);
  return run.finish(start.lastTimestamp, start.lastTimestamp);
}

/**
 * Subjects, visits, queries: a full listing the first time (and on `refresh`), which also drops
 * items the server no longer lists; afterwards items with `dateModified >= watermark`. These
 * streams have no revisions to tell of deletions, so an incremental sync then asks the server how
 * many items the stream has (one request): when that differs from what the cache holds, something
 * was deleted (or missed), and a full listing repairs the cache.
 */
async function syncDated(
  ctx: SyncContext,
  studyKey: string,
  stream: Stream,
  options: StudySyncOptions,
  lock: HeldLock,
): Promise<SyncResult> {
  const start = await ctx.ledger.get(studyKey, stream);
  if (start.lastTimestamp === null || options.refresh === true) {
    return refreshDated(ctx, studyKey, stream, start, options, lock);
  }
  const delta = await incrementalDated(ctx, studyKey, stream, start, options, lock);
  const { total } = await ctx.probe(studyKey, stream, options.signal);
  if (total === undefined || total === (await ctx.storage.count(collectionOf(studyKey, stream))))
    return delta;
  const repaired = await refreshDated(
    ctx,
    studyKey,
    stream,
    await ctx.ledger.get(studyKey, stream),
    options,
    lock,
  );
  return {
    ...repaired,
    fetched: delta.fetched + repaired.fetched,
    added: delta.added + repaired.added,
    changed: delta.changed + repaired.changed,
    stored: delta.stored + repaired.stored,
    deleted: delta.deleted + repaired.deleted,
    previousWatermark: delta.previousWatermark,
    durationMs: delta.durationMs + repaired.durationMs,
  };
}

/** Subjects, visits or queries changed since the watermark in `start`, in one atomic write with the new watermark. */
async function incrementalDated(
  ctx: SyncContext,
  studyKey: string,
  stream: Stream,
  start: LedgerEntry,
  options: StudySyncOptions,
  lock: HeldLock,
): Promise<SyncResult> {
  const run = ctx.run(studyKey, stream, 'incremental', options);
  const collection = collectionOf(studyKey, stream);
  const idField = ID_FIELDS[stream];
  const since = start.lastTimestamp as string;
  run.emit('start', 0);
  let highWater: string | null = null;
  const changed = new Map<string, Item>();
  const listing = ctx.endpoint(stream).list(studyKey, {
    ...ctx.listOptions(options.signal),
    filter: { dateModified: { gte: since } },
    sort: ['-dateModified', idField],
  });
  for await (const page of listing.pages()) {
    if (page.page === 0) {
      const first = page.items[0]?.dateModified;
      highWater = typeof first === 'string' ? first : null;
    }
    run.emit('fetched', page.items.length, page.totalElements);
    for (const item of page.items) changed.set(idKey(item[idField]), item);
  }
  const watermark = highWater !== null && highWater > since ? highWater : since;
  const { ops, added, changed: updated } = await writesOf(ctx, collection, [...changed]);
  const entry: LedgerEntry = {
    ...start,
    lastTimestamp: watermark,
    status: 'idle',
    error: null,
    recordsProcessed: changed.size,
    metadata: {
      ...start.metadata,
      lastRun: { ...run.summary(), added, changed: updated, stored: added + updated },
    },
  };
  ops.push(ctx.ledger.op(entry));
  await ctx.commit(lock, ops);
  run.store(added, updated);
  return run.finish(since, watermark);
}

/** A full listing of subjects, visits or queries: stores every item and drops what is no longer listed. */
async function refreshDated(
  ctx: SyncContext,
  studyKey: string,
  stream: Stream,
  start: LedgerEntry,
  options: SyncRunOptions,
  lock: HeldLock,
): Promise<SyncResult> {
  const storage = ctx.storage;
  const run = ctx.run(studyKey, stream, 'refresh', options);
  const collection = collectionOf(studyKey, stream);
  const idField = ID_FIELDS[stream];
  const batchSize = ctx.batchSize;
  run.emit('start', 0);
  const newest = await ctx.newest(studyKey, stream, options.signal);
  const listed = new Set<string>();
  let buffer: [string, Item][] = [];
  const flush = async () => {
    if (buffer.length === 0) return;
    const { ops, added, changed } = await writesOf(ctx, collection, buffer);
    buffer = [];
    if (ops.length > 0) await ctx.commit(lock, ops);
    run.store(added, changed);
  };
  for await (const page of ctx.endpoint(stream).list(studyKey, ctx.listOptions(options.signal)).pages()) {
    run.emit('fetched', page.items.length, page.totalElements);
    for (const item of page.items) {
      const key = idKey(item[idField]);
      listed.add(key);
      buffer.push([key, item]);
    }
    if (buffer.length >= batchSize) await flush();
  }
  await flush();
  // Drop what the server no longer lists, unless it listed nothing at all (more likely a fault).
  const stale: string[] = [];
  if (listed.size > 0) {
    for await (const batch of storage.scan(collection, { batchSize: 1000 })) {
      for (const [key] of batch) if (!listed.has(key)) stale.push(key);
    }
  }
  const ops: StorageOperation[] = stale.map((key) => ({ type: 'delete' as const, collection, key }));
  const watermark = newest ?? start.lastTimestamp ?? EPOCH;
  const entry: LedgerEntry = {
    ...start,
    lastTimestamp: watermark,
    status: 'idle',
    error: null,
    recordsProcessed: listed.size,
    metadata: { ...start.metadata, lastRun: { ...run.summary(), deleted: stale.length } },
  };
  ops.push(ctx.ledger.op(entry));
  await ctx.commit(lock, ops);
  if (stale.length > 0) run.emit('deleted', stale.length);
  return run.finish(start.lastTimestamp, watermark);
}

/** The puts that store `entries` where they differ from the cache, with how many are new and changed. */
async function writesOf(
  ctx: SyncContext,
  collection: string,
  entries: readonly (readonly [string, Item])[],
): Promise<{ ops: StorageOperation[]; added: number; changed: number }> {
  const cached =
    entries.length > 0
      ? await ctx.storage.getMany(
          collection,
          entries.map(([key]) => key),
        )
      : [];
  const ops: StorageOperation[] = [];
  let added = 0;
  let changed = 0;
  entries.forEach(([key, value], i) => {
    const copy = cached[i];
    if (copy !== undefined && sameJson(copy, value)) return;
    ops.push({ type: 'put', collection, key, value });
    if (copy === undefined) added++;
    else changed++;
  });
  return { ops, added, changed };
}
