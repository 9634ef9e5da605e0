/**
 * The study cache: incremental sync of records (watermark on `dateModified`, deletions from
 * `deleted: true` and from record revisions), the other streams a dashboard needs, a guarded
 * reconcile, and a read side that streams from the store in bounded chunks.
 *
 * How a records sync keeps its promises:
 * - First sync: the newest `dateModified` on the server is read first (the future watermark); then
 *   the study is listed in recordId order and written in atomic batches, each carrying the ledger's
 *   cursor. A crash between batches loses nothing: the next run resumes after the cursor, and puts
 *   keyed by recordId cannot duplicate. The watermark is written only after the last batch.
 *   Pages are offsets, so a record hard-deleted mid-listing shifts every later page by one and the
 *   record at a page's start is never listed. Each batch therefore also stores the page boundaries
 *   where ids jump; when revisions show a deletion since the sync began, the ids between the two
 *   sides of each such boundary are listed again by id, and what was skipped is stored.
 * - Later syncs: records with `dateModified >= watermark` (newest first, so page 0 tells the new
 *   watermark before anything else is fetched), then revisions with `dateCreated >= watermark`:
 *   a record whose latest revision is deleted and that the listing did not return has vanished. Data,
 *   tombstones and the new watermark go in one atomic write. Anything that changes while a run is
 *   under way carries a timestamp at or after the new watermark, so the next run sees it.
 */
import type { Imednet } from '../../client.js';
import { formatApiTimestamp, parseApiDate } from '../../core/dates.js';
import { ConfigurationError, isNotFoundError, ResponseValidationError } from '../../core/errors.js';
import type { Paginator } from '../../core/pagination.js';
import type { RecordRevision } from '../../endpoints/record-revisions.js';
import type { Record_ } from '../../endpoints/records.js';
import type { StorageAdapter, StorageOperation } from '../../storage/types.js';
import { ReconcileRefusedError } from './errors.js';
import { checkStudyKey, collectionOf, ID_FIELDS, idKey, STREAMS, type Stream } from './keys.js';
import { Ledger, type LedgerEntry, type RunSummary } from './ledger.js';
import { type HeldLock, withWriterLock } from './lock.js';
import type {
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

/** The watermark of a study that had no records at its first sync: every later change is after it. */
const EPOCH = '1970-01-01 00:00:00';
const METADATA_STREAMS = new Set<Stream>(['forms', 'variables', 'intervals', 'sites']);

type Item = Record<string, unknown>;

function nowIso(): string {
  return new Date().toISOString();
}

function errorInfo(error: unknown): { name: string; message: string; at: string } {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, at: nowIso() };
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new ConfigurationError(`${name} must be a positive integer`);
  return n;
}

/** Counts and reports one run's progress. */
class Run {
  fetched = 0;
  stored = 0;
  deleted = 0;
  readonly startedAt = nowIso();
  readonly #t0 = Date.now();

  constructor(
    readonly studyKey: string,
    readonly stream: Stream,
    public mode: SyncMode,
    private readonly listeners: readonly ProgressListener[],
  ) {}

  emit(type: SyncProgressEvent['type'], count: number, expected?: number): void {
    if (type === 'fetched') this.fetched += count;
    else if (type === 'stored') this.stored += count;
    else if (type === 'deleted') this.deleted += count;
    if (this.listeners.length === 0) return;
    const event: SyncProgressEvent = {
      type,
      studyKey: this.studyKey,
      stream: this.stream,
      mode: this.mode,
      count,
      fetched: this.fetched,
      stored: this.stored,
      deleted: this.deleted,
    };
    if (expected !== undefined) event.expected = expected;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener must not break the sync.
      }
    }
  }

  /** Emits `done` and describes the finished run as a {@link SyncResult}. */
  finish(previousWatermark: string | null, watermark: string | null, resumed = false): SyncResult {
    this.emit('done', 0);
    return {
      studyKey: this.studyKey,
      stream: this.stream,
      mode: this.mode,
      fetched: this.fetched,
      stored: this.stored,
      deleted: this.deleted,
      previousWatermark,
      watermark,
      resumed,
      durationMs: this.durationMs,
    };
  }

  summary(): RunSummary {
    return {
      mode: this.mode,
      startedAt: this.startedAt,
      finishedAt: nowIso(),
      fetched: this.fetched,
      stored: this.stored,
      deleted: this.deleted,
    };
  }

  get durationMs(): number {
    return Date.now() - this.#t0;
  }
}

/** `client.cache`: sync a study into a storage adapter and read it back offline. */
export class SyncCache {
  /** The state ledger (watermarks, status, errors) of every study in this store. */
  readonly ledger: Ledger;
  readonly #client: Imednet;
  readonly #options: SyncOptions;
  readonly #storage: StorageAdapter | undefined;

  constructor(client: Imednet, options: SyncOptions, fallbackStorage?: StorageAdapter) {
    this.#client = client;
    this.#options = options;
    this.#storage = options.storage ?? fallbackStorage;
    this.ledger = new Ledger(() => this.storage);
  }

  /** The storage adapter the cache uses. */
  get storage(): StorageAdapter {
    if (!this.#storage) {
      throw new ConfigurationError(
        'The sync plugin has no storage: pass one as sync({ storage }) or new Client({ storage })',
      );
    }
    return this.#storage;
  }

  // ---------------------------------------------------------------- writers

  /**
   * Brings the cached records of a study up to date: the whole study the first time (resuming an
   * interrupted first sync), only what changed since the watermark afterwards.
   * @example const result = await client.cache.syncRecords('MYSTUDY'); console.log(result.stored, result.deleted);
   */
  async syncRecords(studyKey: string, options: SyncRunOptions = {}): Promise<SyncResult> {
    checkStudyKey(studyKey);
    return this.#locked(studyKey, options, (lock) => this.#syncRecords(studyKey, options, lock));
  }

  /**
   * Syncs every stream of a study: metadata (forms, variables, intervals, sites), subjects, visits,
   * queries and records, so that a dashboard can work offline.
   * @example await client.cache.syncStudy('MYSTUDY', { onProgress: (e) => console.log(e.stream, e.type, e.count) });
   */
  async syncStudy(studyKey: string, options: StudySyncOptions = {}): Promise<StudySyncResult> {
    checkStudyKey(studyKey);
    const wanted = options.streams ?? STREAMS;
    for (const s of wanted) {
      if (!STREAMS.includes(s)) throw new ConfigurationError(`Unknown stream ${JSON.stringify(s)}`);
    }
    const t0 = Date.now();
    return this.#locked(studyKey, options, async (lock) => {
      const streams: Partial<Record<Stream, SyncResult>> = {};
      // Metadata first: records refer to forms, intervals and sites.
      for (const stream of STREAMS) {
        if (!wanted.includes(stream) || stream === 'records') continue;
        streams[stream] = await this.#guard(studyKey, stream, async () =>
          METADATA_STREAMS.has(stream)
            ? this.#syncMetadata(studyKey, stream, options, lock)
            : this.#syncDated(studyKey, stream, options, lock),
        );
      }
      if (wanted.includes('records')) streams.records = await this.#syncRecords(studyKey, options, lock);
      return { studyKey, streams, durationMs: Date.now() - t0 };
    });
  }

  /**
   * Lists the whole study and repairs the cache: stores what is missing or stale and tombstones
   * cached records the server no longer has. Refuses to delete (throws `ReconcileRefusedError`,
   * after storing) when the listing is empty or would remove more than `maxShare` of the cache,
   * unless `force`. The watermark is left alone.
   */
  async reconcile(studyKey: string, options: ReconcileOptions = {}): Promise<ReconcileResult> {
    checkStudyKey(studyKey);
    const maxShare = options.maxShare ?? this.#options.reconcileMaxShare ?? 0.05;
    if (!(maxShare >= 0 && maxShare <= 1)) throw new ConfigurationError('maxShare must be between 0 and 1');
    return this.#locked(studyKey, options, (lock) =>
      this.#guard(studyKey, 'records', () => this.#reconcile(studyKey, options, maxShare, lock)),
    );
  }

  /**
   * Moves a stream's watermark back to `to` (a `Date` or an API timestamp), so that the next sync
   * fetches again everything changed since; `to: null` forgets the stream's entry, so the next sync
   * of it is a full one (cached data stays until then). A watermark never moves forward: what changed
   * before the new value would never be fetched. Waits for the writer lock like a sync.
   * @example await client.cache.rewind('MYSTUDY', 'records', '2025-01-01 00:00:00');
   */
  async rewind(
    studyKey: string,
    stream: Stream,
    to: Date | string | null,
    options: SyncRunOptions = {},
  ): Promise<LedgerEntry> {
    checkStudyKey(studyKey);
    if (!STREAMS.includes(stream)) throw new ConfigurationError(`Unknown stream ${JSON.stringify(stream)}`);
    let target: string | null = null;
    if (to !== null) {
      const date = to instanceof Date ? to : parseApiDate(to);
      if (!date || Number.isNaN(date.getTime())) {
        throw new ConfigurationError('rewind needs a date or a timestamp like 2025-01-31 00:00:00');
      }
      target = formatApiTimestamp(date);
    }
    return this.#locked(studyKey, options, async (lock) => {
      const entry = await this.ledger.get(studyKey, stream);
      await lock.check();
      if (target === null) {
        await this.ledger.reset(studyKey, stream);
        return this.ledger.get(studyKey, stream);
      }
      if (entry.lastTimestamp === null) {
        throw new ConfigurationError(
          `${studyKey}/${stream} has no watermark yet: its next sync is a full one`,
        );
      }
      if (target > entry.lastTimestamp) {
        throw new ConfigurationError(
          `Refusing to move the ${studyKey}/${stream} watermark forward (${entry.lastTimestamp} -> ${target}): ` +
            'changes in between would never be fetched',
        );
      }
      return this.ledger.set(studyKey, stream, { lastTimestamp: target, error: null, status: 'idle' });
    });
  }

  /** Removes every cached item, tombstone and ledger entry of a study. */
  async clearStudy(studyKey: string, options: SyncRunOptions = {}): Promise<void> {
    checkStudyKey(studyKey);
    await this.#locked(studyKey, options, async (lock) => {
      const ops: StorageOperation[] = [...STREAMS, 'deleted' as const, 'gaps' as const].map((kind) => ({
        type: 'clear' as const,
        collection: collectionOf(studyKey, kind),
      }));
      await this.#commit(lock, ops);
      await this.ledger.reset(studyKey);
    });
  }

  // ---------------------------------------------------------------- readers (no lock, never wait)

  /** One cached live record, or undefined. */
  async getCachedRecord(studyKey: string, recordId: number): Promise<Record_ | undefined> {
    return this.storage.get<Record_>(collectionOf(checkStudyKey(studyKey), 'records'), idKey(recordId));
  }

  /**
   * Cached live records in recordId order, collected into an array. For a large study prefer
   * {@link SyncCache.iterateRecords}, which holds one chunk at a time.
   * @example const aes = await client.cache.getCachedRecords('MYSTUDY', { where: (r) => r.formKey === 'AE' });
   */
  async getCachedRecords(studyKey: string, options: ReadOptions<Record_> = {}): Promise<Record_[]> {
    return this.getCached(studyKey, 'records', options);
  }

  /**
   * Cached live records in recordId order, in chunks of at most `batchSize`.
   * @example for await (const chunk of client.cache.iterateRecords('MYSTUDY', { batchSize: 1000 })) write(chunk);
   */
  iterateRecords(studyKey: string, options: ReadOptions<Record_> = {}): AsyncGenerator<Record_[]> {
    return this.iterateCached(studyKey, 'records', options);
  }

  /** Tombstones of deleted records, in recordId order. */
  async getDeletedRecords(studyKey: string, options: ReadOptions<Tombstone> = {}): Promise<Tombstone[]> {
    const out: Tombstone[] = [];
    for await (const chunk of this.#iterate<Tombstone>(
      collectionOf(checkStudyKey(studyKey), 'deleted'),
      options,
    ))
      out.push(...chunk);
    return out;
  }

  /** Cached items of any stream, collected into an array. */
  async getCached<S extends Stream>(
    studyKey: string,
    stream: S,
    options: ReadOptions<StreamItems[S]> = {},
  ): Promise<StreamItems[S][]> {
    const out: StreamItems[S][] = [];
    for await (const chunk of this.iterateCached(studyKey, stream, options)) {
      for (const item of chunk) out.push(item);
    }
    return out;
  }

  /** Cached items of any stream in id order, in chunks of at most `batchSize`. */
  iterateCached<S extends Stream>(
    studyKey: string,
    stream: S,
    options: ReadOptions<StreamItems[S]> = {},
  ): AsyncGenerator<StreamItems[S][]> {
    checkStudyKey(studyKey);
    if (!STREAMS.includes(stream)) throw new ConfigurationError(`Unknown stream ${JSON.stringify(stream)}`);
    return this.#iterate<StreamItems[S]>(collectionOf(studyKey, stream), options);
  }

  /** How many items the cache holds per stream, and how many tombstones. */
  async counts(studyKey: string): Promise<Record<Stream | 'deletedRecords', number>> {
    checkStudyKey(studyKey);
    const out = {} as Record<Stream | 'deletedRecords', number>;
    for (const stream of STREAMS) out[stream] = await this.storage.count(collectionOf(studyKey, stream));
    out.deletedRecords = await this.storage.count(collectionOf(studyKey, 'deleted'));
    return out;
  }

  async *#iterate<T>(collection: string, options: ReadOptions<T>): AsyncGenerator<T[]> {
    const batchSize = positiveInteger(options.batchSize, 500, 'batchSize');
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    let left = limit;
    if (left <= 0) return;
    const scan: { batchSize: number; after?: string } = { batchSize };
    if (options.afterId !== undefined) scan.after = idKey(options.afterId);
    let chunk: T[] = [];
    for await (const batch of this.storage.scan<T>(collection, scan)) {
      for (const [, value] of batch) {
        if (options.where && !options.where(value)) continue;
        chunk.push(value);
        if (--left <= 0) break;
        if (chunk.length >= batchSize) {
          yield chunk;
          chunk = [];
        }
      }
      if (left <= 0) break;
    }
    if (chunk.length > 0) yield chunk;
  }

  // ---------------------------------------------------------------- plumbing

  #listeners(options: SyncRunOptions): ProgressListener[] {
    const out: ProgressListener[] = [];
    if (this.#options.onProgress) out.push(this.#options.onProgress);
    if (options.onProgress) out.push(options.onProgress);
    return out;
  }

  #locked<T>(studyKey: string, options: SyncRunOptions, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
    return withWriterLock(
      this.storage,
      `imednet-sync:${studyKey}`,
      this.#options.lock ?? {},
      options.signal,
      fn,
    );
  }

  /** Runs one stream; on failure records the error in the ledger, keeping the committed state. */
  async #guard<T>(studyKey: string, stream: Stream, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof Error && error.name === 'LockLostError')) {
        try {
          const current = await this.ledger.get(studyKey, stream);
          await this.storage.write([
            this.ledger.op({ ...current, status: 'failed', error: errorInfo(error) }),
          ]);
        } catch {
          // The store itself failed; the original error is what the caller needs.
        }
      }
      throw error;
    }
  }

  /** Writes `ops` atomically, after checking that this run still holds the writer lock. */
  async #commit(lock: HeldLock, ops: readonly StorageOperation[]): Promise<void> {
    await lock.check();
    await this.storage.write(ops);
  }

  #listOptions(signal: AbortSignal | undefined): { signal?: AbortSignal; concurrency?: number } {
    const out: { signal?: AbortSignal; concurrency?: number } = {};
    if (signal) out.signal = signal;
    if (this.#options.concurrency !== undefined) out.concurrency = this.#options.concurrency;
    return out;
  }

  /**
   * The newest `dateModified` of a stream, read with a one-item, newest-first listing before
   * anything else: the next watermark.
   */
  async #newest(studyKey: string, stream: Stream, signal: AbortSignal | undefined): Promise<string | null> {
    const paginator = this.#endpoint(stream).list(studyKey, {
      ...this.#listOptions(signal),
      sort: ['-dateModified', ID_FIELDS[stream]],
      pageSize: 1,
      concurrency: 1,
    });
    for await (const page of paginator.pages()) {
      const first = page.items[0];
      return typeof first?.dateModified === 'string' ? first.dateModified : null;
    }
    return null;
  }

  // ---------------------------------------------------------------- records

  async #syncRecords(studyKey: string, options: SyncRunOptions, lock: HeldLock): Promise<SyncResult> {
    return this.#guard(studyKey, 'records', async () => {
      const entry = await this.ledger.get(studyKey, 'records');
      if (entry.lastTimestamp === null) {
        const resumed = entry.metadata.full !== undefined;
        const full = await this.#fullRecords(studyKey, entry, options, lock);
        // A resumed first sync spans several runs: catch up on what changed meanwhile, so that one
        // call still leaves the cache equal to the server.
        if (!resumed) return full;
        const after = await this.ledger.get(studyKey, 'records');
        const catchUp = await this.#incrementalRecords(studyKey, after, options, lock);
        return {
          ...catchUp,
          mode: 'full',
          fetched: full.fetched + catchUp.fetched,
          stored: full.stored + catchUp.stored,
          deleted: full.deleted + catchUp.deleted,
          previousWatermark: null,
          resumed: true,
          durationMs: full.durationMs + catchUp.durationMs,
        };
      }
      return this.#incrementalRecords(studyKey, entry, options, lock);
    });
  }

  async #fullRecords(
    studyKey: string,
    start: LedgerEntry,
    options: SyncRunOptions,
    lock: HeldLock,
  ): Promise<SyncResult> {
    const storage = this.storage;
    const run = new Run(studyKey, 'records', 'full', this.#listeners(options));
    const batchSize = positiveInteger(this.#options.batchSize, 2000, 'batchSize');
    const live = collectionOf(studyKey, 'records');
    const dead = collectionOf(studyKey, 'deleted');
    const listOptions = this.#listOptions(options.signal);

    let full = start.metadata.full;
    const resumed = full !== undefined;
    run.emit('start', 0);
    if (full === undefined) {
      const highWater = await this.#newest(studyKey, 'records', options.signal);
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
    await this.#commit(lock, [this.ledger.op(entry)]);

    // Tombstones exist only if an earlier attempt (or an earlier life of this study) wrote some.
    const mayHaveTombstones = (await storage.count(dead)) > 0;
    // A fresh full sync over cached data (after a ledger reset) also drops what the server no longer
    // lists; it remembers the listed ids for that. (A resumed one cannot know what earlier attempts
    // listed; `reconcile` repairs that case.)
    const listed = !resumed && (await storage.count(live)) > 0 ? new Set<number>() : undefined;
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
      let stored = 0;
      let deleted = 0;
      for (const record of buffer) {
        const recordId = idOf(record);
        const key = idKey(recordId);
        listed?.add(recordId);
        if (recordId > cursor) cursor = recordId;
        if (record.deleted === true) {
          ops.push(...bury(live, dead, key, flaggedTombstone(recordId, record)));
          tombstonedNow.add(recordId);
          deleted++;
        } else {
          ops.push({ type: 'put', collection: live, key, value: record });
          if (mayHaveTombstones || tombstonedNow.has(recordId))
            ops.push({ type: 'delete', collection: dead, key });
          stored++;
        }
      }
      full = { ...full!, cursor };
      entry = {
        ...entry,
        recordsProcessed: entry.recordsProcessed + buffer.length,
        metadata: { ...entry.metadata, full },
      };
      ops.push(this.ledger.op(entry));
      await this.#commit(lock, ops);
      buffer = [];
      if (stored > 0) run.emit('stored', stored);
      if (deleted > 0) run.emit('deleted', deleted);
    };

    const listing = this.#client.records.list(studyKey, {
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
        if (lastOfPage !== undefined && before - lastOfPage > 1)
          boundaries.push({ after: lastOfPage, before });
        lastOfPage = idOf(page.items[page.items.length - 1] as Record_);
      }
      for (const record of page.items) buffer.push(record);
      if (buffer.length >= batchSize) await flush();
    }
    await flush();
    const skipped = await this.#skippedByShifts(studyKey, full.highWater ?? EPOCH, options.signal);
    if (skipped.size > 0) {
      run.emit('fetched', skipped.size);
      for (const recordId of skipped.keys()) listed?.add(recordId);
      await this.#applyRecords(studyKey, skipped, [], run, lock);
    }
    if (listed && listed.size > 0) await this.#sweep(studyKey, listed, 'vanished', run, lock, batchSize);

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
    await this.#commit(lock, [{ type: 'clear', collection: gaps }, this.ledger.op(entry)]);
    return run.finish(null, watermark, resumed);
  }

  /**
   * The records a first sync's offset pages skipped because records before them were hard-deleted
   * while it ran. Nothing is asked when no page boundary had a jump in ids; otherwise one revisions
   * listing tells whether anything was deleted since the sync began (`since`), and only then is
   * each boundary after the first deleted id listed again from its lower side, by id.
   */
  async #skippedByShifts(
    studyKey: string,
    since: string,
    signal: AbortSignal | undefined,
  ): Promise<Map<number, Record_>> {
    const storage = this.storage;
    const found = new Map<number, Record_>();
    const gaps = collectionOf(studyKey, 'gaps');
    if ((await storage.count(gaps)) === 0) return found;
    const listOptions = this.#listOptions(signal);
    let firstDeleted = Number.POSITIVE_INFINITY;
    const deletions = this.#client.recordRevisions.list(studyKey, {
      ...listOptions,
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
      const between = this.#client.records.list(studyKey, {
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

  async #incrementalRecords(
    studyKey: string,
    start: LedgerEntry,
    options: SyncRunOptions,
    lock: HeldLock,
  ): Promise<SyncResult> {
    const run = new Run(studyKey, 'records', 'incremental', this.#listeners(options));
    const maxDelta = positiveInteger(this.#options.maxDeltaInMemory, 50_000, 'maxDeltaInMemory');
    const listOptions = this.#listOptions(options.signal);
    const since = start.lastTimestamp as string;
    run.emit('start', 0);

    let entry: LedgerEntry = { ...start, status: 'running', error: null };
    await this.#commit(lock, [this.ledger.op(entry)]);

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
      const listing = this.#client.records.list(studyKey, {
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
          await this.#applyRecords(studyKey, changed, [], run, lock);
          changed.clear();
        }
      }
    };
    const readRevisions = async () => {
      const revisions = this.#client.recordRevisions.list(studyKey, {
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
    // changed after it). Ask for those records one by one; gone ones have vanished.
    await eachLimit(missed, 4, async (miss) => {
      try {
        const getOptions: { signal?: AbortSignal } = {};
        if (options.signal) getOptions.signal = options.signal;
        const record = await this.#client.records.get(studyKey, miss.recordId, getOptions);
        run.emit('fetched', 1);
        changed.set(idOf(record), record);
      } catch (error) {
        if (!isNotFoundError(error)) throw error;
        vanished.push(miss);
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
    await this.#applyRecords(studyKey, changed, vanished, run, lock, (pending) => {
      const summary = run.summary();
      summary.stored += pending.stored;
      summary.deleted += pending.deleted;
      entry.metadata = { ...entry.metadata, lastRun: summary };
      return this.ledger.op(entry);
    });
    return run.finish(since, watermark);
  }

  /**
   * Writes changed records and vanished ones (as tombstones) in one atomic write, together with the
   * ledger operation `ledgerOp` builds (it is told what this write stores and deletes).
   */
  async #applyRecords(
    studyKey: string,
    changed: ReadonlyMap<number, Record_>,
    vanished: readonly { recordId: number; at: string | null }[],
    run: Run,
    lock: HeldLock,
    ledgerOp?: (pending: { stored: number; deleted: number }) => StorageOperation,
  ): Promise<void> {
    const storage = this.storage;
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
    await this.#commit(lock, ops);
    if (stored > 0) run.emit('stored', stored);
    if (deleted > 0) run.emit('deleted', deleted);
  }

  async #reconcile(
    studyKey: string,
    options: ReconcileOptions,
    maxShare: number,
    lock: HeldLock,
  ): Promise<ReconcileResult> {
    const storage = this.storage;
    const run = new Run(studyKey, 'records', 'reconcile', this.#listeners(options));
    const batchSize = positiveInteger(this.#options.batchSize, 2000, 'batchSize');
    const live = collectionOf(studyKey, 'records');
    run.emit('start', 0);
    const cached = await storage.count(live);

    // Store everything the server lists (it is current), remembering which ids it listed.
    const listed = new Set<number>();
    const changed = new Map<number, Record_>();
    const listing = this.#client.records.list(studyKey, {
      ...this.#listOptions(options.signal),
      sort: 'recordId',
    });
    for await (const page of listing.pages()) {
      run.emit('fetched', page.items.length, page.totalElements);
      for (const record of page.items) {
        const recordId = idOf(record);
        listed.add(recordId);
        changed.set(recordId, record);
      }
      if (changed.size >= batchSize) {
        await this.#applyRecords(studyKey, changed, [], run, lock);
        changed.clear();
      }
    }
    if (changed.size > 0) await this.#applyRecords(studyKey, changed, [], run, lock);

    // Live records the server no longer lists.
    const missing = await this.#unlisted(studyKey, listed);
    if (!options.force && missing > 0) {
      if (listed.size === 0) {
        throw new ReconcileRefusedError('empty-listing', {
          cached,
          listed: 0,
          wouldDelete: missing,
          maxShare,
        });
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
    if (missing > 0) await this.#sweep(studyKey, listed, 'reconcile', run, lock, batchSize);
    const entry = await this.ledger.get(studyKey, 'records');
    await this.#commit(lock, [
      this.ledger.op({
        ...entry,
        error: null,
        metadata: { ...entry.metadata, lastReconcile: run.summary() },
      }),
    ]);
    run.emit('done', 0);
    return {
      studyKey,
      listed: listed.size,
      cached,
      stored: run.stored,
      deleted: run.deleted,
      durationMs: run.durationMs,
    };
  }

  /** How many live cached records are not in `listed`. */
  async #unlisted(studyKey: string, listed: ReadonlySet<number>): Promise<number> {
    let n = 0;
    for await (const batch of this.storage.scan(collectionOf(studyKey, 'records'), { batchSize: 1000 })) {
      for (const [key] of batch) if (!listed.has(Number(key))) n++;
    }
    return n;
  }

  /** Tombstones every live cached record that is not in `listed`, in atomic batches. */
  async #sweep(
    studyKey: string,
    listed: ReadonlySet<number>,
    reason: Tombstone['reason'],
    run: Run,
    lock: HeldLock,
    batchSize: number,
  ): Promise<void> {
    const storage = this.storage;
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
      await this.#commit(lock, ops);
      run.emit('deleted', ops.length / 2);
    }
  }

  // ---------------------------------------------------------------- other streams

  #endpoint(stream: Stream): { list(studyKey: string, options: object): Paginator<Item> } {
    return this.#client[stream] as unknown as { list(studyKey: string, options: object): Paginator<Item> };
  }

  /** Forms, variables, intervals, sites: small, so each sync replaces them in one atomic write. */
  async #syncMetadata(
    studyKey: string,
    stream: Stream,
    options: SyncRunOptions,
    lock: HeldLock,
  ): Promise<SyncResult> {
    const storage = this.storage;
    const run = new Run(studyKey, stream, 'refresh', this.#listeners(options));
    const collection = collectionOf(studyKey, stream);
    const idField = ID_FIELDS[stream];
    const start = await this.ledger.get(studyKey, stream);
    run.emit('start', 0);
    const items = new Map<string, Item>();
    for await (const page of this.#endpoint(stream)
      .list(studyKey, this.#listOptions(options.signal))
      .pages()) {
      run.emit('fetched', page.items.length, page.totalElements);
      for (const item of page.items) items.set(idKey(item[idField]), item);
    }
    let cached = 0;
    let dropped = 0;
    for await (const batch of storage.scan(collection, { batchSize: 1000 })) {
      cached += batch.length;
      for (const [key] of batch) if (!items.has(key)) dropped++;
    }
    const ops: StorageOperation[] = [];
    // An empty answer for a study that had items is more likely a fault than the truth: keep them.
    const keep = items.size === 0 && cached > 0;
    if (!keep) {
      ops.push({ type: 'clear', collection });
      for (const [key, value] of items) ops.push({ type: 'put', collection, key, value });
    }
    const entry: LedgerEntry = {
      ...start,
      status: 'idle',
      error: null,
      recordsProcessed: items.size,
      metadata: {
        ...start.metadata,
        lastRun: { ...run.summary(), stored: keep ? 0 : items.size },
      },
    };
    if (keep) entry.metadata.warning = 'The server listed nothing; the cached items were kept';
    else delete entry.metadata.warning;
    ops.push(this.ledger.op(entry));
    await this.#commit(lock, ops);
    if (!keep) run.emit('stored', items.size);
    if (!keep && dropped > 0) run.emit('deleted', dropped);
    return run.finish(start.lastTimestamp, start.lastTimestamp);
  }

  /**
   * Subjects, visits, queries: a full listing the first time (and on `refresh`), which also drops
   * items the server no longer lists; afterwards items with `dateModified >= watermark`.
   */
  async #syncDated(
    studyKey: string,
    stream: Stream,
    options: StudySyncOptions,
    lock: HeldLock,
  ): Promise<SyncResult> {
    const start = await this.ledger.get(studyKey, stream);
    if (start.lastTimestamp === null || options.refresh === true) {
      return this.#refreshDated(studyKey, stream, start, options, lock);
    }
    const run = new Run(studyKey, stream, 'incremental', this.#listeners(options));
    const collection = collectionOf(studyKey, stream);
    const idField = ID_FIELDS[stream];
    const since = start.lastTimestamp;
    run.emit('start', 0);
    let highWater: string | null = null;
    const changed = new Map<string, Item>();
    const listing = this.#endpoint(stream).list(studyKey, {
      ...this.#listOptions(options.signal),
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
    const ops: StorageOperation[] = [];
    for (const [key, value] of changed) ops.push({ type: 'put', collection, key, value });
    const entry: LedgerEntry = {
      ...start,
      lastTimestamp: watermark,
      status: 'idle',
      error: null,
      recordsProcessed: changed.size,
      metadata: { ...start.metadata, lastRun: { ...run.summary(), stored: changed.size } },
    };
    ops.push(this.ledger.op(entry));
    await this.#commit(lock, ops);
    if (changed.size > 0) run.emit('stored', changed.size);
    return run.finish(since, watermark);
  }

  async #refreshDated(
    studyKey: string,
    stream: Stream,
    start: LedgerEntry,
    options: SyncRunOptions,
    lock: HeldLock,
  ): Promise<SyncResult> {
    const storage = this.storage;
    const run = new Run(studyKey, stream, 'refresh', this.#listeners(options));
    const collection = collectionOf(studyKey, stream);
    const idField = ID_FIELDS[stream];
    const batchSize = positiveInteger(this.#options.batchSize, 2000, 'batchSize');
    const listOptions = this.#listOptions(options.signal);
    run.emit('start', 0);
    const newest = await this.#newest(studyKey, stream, options.signal);
    const listed = new Set<string>();
    let buffer: [string, Item][] = [];
    const flush = async () => {
      if (buffer.length === 0) return;
      await lock.check();
      await storage.putMany(collection, buffer);
      run.emit('stored', buffer.length);
      buffer = [];
    };
    for await (const page of this.#endpoint(stream).list(studyKey, listOptions).pages()) {
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
    ops.push(this.ledger.op(entry));
    await this.#commit(lock, ops);
    if (stale.length > 0) run.emit('deleted', stale.length);
    return run.finish(start.lastTimestamp, watermark);
  }
}

/** A record's id, which the cache keys it by; a record without one cannot be cached. */
function idOf(record: Record_): number {
  const id = record.recordId;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new ResponseValidationError('The API returned a record without a valid recordId', [
      { path: 'recordId', message: 'expected a non-negative integer' },
    ]);
  }
  return id;
}

/** The two operations that move a record from the live view to its tombstone. */
function bury(live: string, dead: string, key: string, tombstone: Tombstone): StorageOperation[] {
  return [
    { type: 'delete', collection: live, key },
    { type: 'put', collection: dead, key, value: tombstone },
  ];
}

/** The tombstone of a record the API returned with `deleted: true`. */
function flaggedTombstone(recordId: number, record: Record_): Tombstone {
  return { recordId, reason: 'deleted', deletedAt: record.dateModified ?? null, record };
}

/** A first sync's page boundary where ids jump: records between the two may have been skipped. */
interface Gap {
  /** The last recordId of the earlier page. */
  after: number;
  /** The first recordId of the later page. */
  before: number;
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

async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  });
  await Promise.all(workers);
}
