/**
 * `client.cache`: the writers (sync, reconcile, rewind, clear), each under the study's writer lock,
 * on top of the read side ({@link CacheReader}). The jobs themselves live in their own files:
 * full-sync.ts (a study's first sync), incremental-sync.ts (later syncs with revision-based repair),
 * reconcile.ts, streams.ts (the streams besides records) and record-writes.ts (what they share).
 */
import type { Imednet } from '../../client.js';
import { formatApiTimestamp, parseApiDate } from '../../core/dates.js';
import { ConfigurationError } from '../../core/errors.js';
import type { StorageAdapter, StorageOperation } from '../../storage/types.js';
import { SyncContext } from './context.js';
import { fullRecords } from './full-sync.js';
import { incrementalRecords } from './incremental-sync.js';
import { checkStudyKey, collectionOf, STREAMS, type Stream } from './keys.js';
import type { Ledger, LedgerEntry } from './ledger.js';
import { type HeldLock, withWriterLock } from './lock.js';
import { CacheReader } from './reads.js';
import { reconcileRecords } from './reconcile.js';
import { syncStream } from './streams.js';
import type {
  ReconcileOptions,
  ReconcileResult,
  StudySyncOptions,
  StudySyncResult,
  SyncOptions,
  SyncResult,
  SyncRunOptions,
} from './types.js';

/** `client.cache`: sync a study into a storage adapter and read it back offline. */
export class SyncCache extends CacheReader {
  /** The state ledger (watermarks, status, errors) of every study in this store. */
  readonly ledger: Ledger;
  readonly #ctx: SyncContext;

  constructor(client: Imednet, options: SyncOptions, fallbackStorage?: StorageAdapter) {
    const ctx = new SyncContext(client, options, options.storage ?? fallbackStorage);
    super(() => ctx.storage);
    this.#ctx = ctx;
    this.ledger = ctx.ledger;
  }

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
        streams[stream] = await this.#ctx.guard(studyKey, stream, lock, () =>
          syncStream(this.#ctx, studyKey, stream, options, lock),
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
   * @example const { deleted } = await client.cache.reconcile('MYSTUDY', { maxShare: 0.1 });
   */
  async reconcile(studyKey: string, options: ReconcileOptions = {}): Promise<ReconcileResult> {
    checkStudyKey(studyKey);
    const maxShare = options.maxShare ?? this.#ctx.options.reconcileMaxShare ?? 0.05;
    if (!(maxShare >= 0 && maxShare <= 1)) throw new ConfigurationError('maxShare must be between 0 and 1');
    return this.#locked(studyKey, options, (lock) =>
      this.#ctx.guard(studyKey, 'records', lock, () =>
        reconcileRecords(this.#ctx, studyKey, options, maxShare, lock),
      ),
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
      if (target === null) {
        // The page boundaries of an interrupted first sync go with the entry that owned them.
        const ops = await this.ledger.resetOps(studyKey, stream);
        if (stream === 'records') ops.push({ type: 'clear', collection: collectionOf(studyKey, 'gaps') });
        await this.#ctx.commit(lock, ops);
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
      const rewound: LedgerEntry = { ...entry, lastTimestamp: target, error: null, status: 'idle' };
      const op = this.ledger.op(rewound);
      await this.#ctx.commit(lock, [op]);
      return op.type === 'put' ? (op.value as LedgerEntry) : rewound;
    });
  }

  /**
   * Removes every cached item, tombstone and ledger entry of a study, in one atomic write: a
   * watermark can never outlive the data it covers.
   * @example await client.cache.clearStudy('MYSTUDY');
   */
  async clearStudy(studyKey: string, options: SyncRunOptions = {}): Promise<void> {
    checkStudyKey(studyKey);
    await this.#locked(studyKey, options, async (lock) => {
      const ops: StorageOperation[] = [...STREAMS, 'deleted' as const, 'gaps' as const].map((kind) => ({
        type: 'clear' as const,
        collection: collectionOf(studyKey, kind),
      }));
      ops.push(...(await this.ledger.resetOps(studyKey)));
      await this.#ctx.commit(lock, ops);
    });
  }

  #locked<T>(studyKey: string, options: SyncRunOptions, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
    return withWriterLock(
      this.storage,
      `imednet-sync:${studyKey}`,
      this.#ctx.options.lock ?? {},
      options.signal,
      fn,
    );
  }

  /** The records stream: a first sync (resumed, then caught up) or an incremental one. */
  async #syncRecords(studyKey: string, options: SyncRunOptions, lock: HeldLock): Promise<SyncResult> {
    const ctx = this.#ctx;
    return ctx.guard(studyKey, 'records', lock, async () => {
      const entry = await this.ledger.get(studyKey, 'records');
      if (entry.lastTimestamp !== null) return incrementalRecords(ctx, studyKey, entry, options, lock);
      const resumed = entry.metadata.full !== undefined;
      const full = await fullRecords(ctx, studyKey, entry, options, lock);
      // A resumed first sync spans several runs: catch up on what changed meanwhile, so that one
      // call still leaves the cache equal to the server.
      if (!resumed) return full;
      const after = await this.ledger.get(studyKey, 'records');
      const catchUp = await incrementalRecords(ctx, studyKey, after, options, lock);
      return {
        ...catchUp,
        mode: 'full',
        fetched: full.fetched + catchUp.fetched,
        stored: full.stored + catchUp.stored,
        added: full.added + catchUp.added,
        changed: full.changed + catchUp.changed,
        deleted: full.deleted + catchUp.deleted,
        previousWatermark: null,
        resumed: true,
        durationMs: full.durationMs + catchUp.durationMs,
      };
    });
  }
}
