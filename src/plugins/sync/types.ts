/** Public types of the sync plugin. */
import type { Form } from '../../endpoints/forms.js';
import type { Interval } from '../../endpoints/intervals.js';
import type { Query } from '../../endpoints/queries.js';
import type { Record_ } from '../../endpoints/records.js';
import type { Site } from '../../endpoints/sites.js';
import type { Subject } from '../../endpoints/subjects.js';
import type { Variable } from '../../endpoints/variables.js';
import type { Visit } from '../../endpoints/visits.js';
import type { StorageAdapter } from '../../storage/types.js';
import type { Stream } from './keys.js';
import type { WriterLockOptions } from './lock.js';

/** What a cached item of each stream is. */
export interface StreamItems {
  records: Record_;
  subjects: Subject;
  visits: Visit;
  queries: Query;
  forms: Form;
  variables: Variable;
  intervals: Interval;
  sites: Site;
}

/** How a run went about its work. */
export type SyncMode = 'full' | 'incremental' | 'refresh' | 'reconcile';

/** One progress report: what just happened and the run's counters so far. */
export interface SyncProgressEvent {
  /** `start` and `done` frame a run; the others report items fetched, stored or deleted. */
  type: 'start' | 'fetched' | 'stored' | 'deleted' | 'done';
  studyKey: string;
  stream: Stream;
  mode: SyncMode;
  /** Items this event is about. */
  count: number;
  /** Items fetched from the API so far in this run. */
  fetched: number;
  /** Items written to the cache so far because they were new or changed (unchanged refetches are not counted). */
  stored: number;
  /** Items removed from the live cache so far (tombstoned). */
  deleted: number;
  /** Items the listing said it would return, when known. */
  expected?: number;
  /**
   * On `fetched` events with `expected`: milliseconds until the rest is fetched, from the pace so
   * far or, with the client's `requestBudget`, from when the remaining pages may be sent, whichever
   * is later. An estimate: it knows nothing of pauses the server has yet to ask for.
   */
  etaMs?: number;
}

/** A progress listener. */
export type ProgressListener = (event: SyncProgressEvent) => void;

/** The outcome of one stream's run. */
export interface SyncResult {
  studyKey: string;
  stream: Stream;
  mode: SyncMode;
  /** Items received from the API (duplicates included). */
  fetched: number;
  /**
   * Items written to the live cache because they were new or changed: `added + changed`. A refetched
   * item equal to its cached copy is not written and not counted, so a run with no changes stores 0.
   */
  stored: number;
  /** Items new to the cache. */
  added: number;
  /** Items the cache held in another version. */
  changed: number;
  /** Items removed from the live cache (in a full sync: records stored as tombstones because the server marks them deleted). */
  deleted: number;
  /** The watermark before the run. */
  previousWatermark: string | null;
  /** The watermark after the run. */
  watermark: string | null;
  /** Whether this run continued an interrupted full sync. */
  resumed: boolean;
  /** Wall time of the run in ms. */
  durationMs: number;
}

/** The outcome of `syncStudy`: one result per stream. */
export interface StudySyncResult {
  studyKey: string;
  streams: Partial<Record<Stream, SyncResult>>;
  durationMs: number;
}

/** A record removed from the live cache, kept so the caller can see what went and when. */
export interface Tombstone {
  recordId: number;
  /**
   * `deleted`: the API returned it with `deleted: true`; `vanished`: it left the listings and a
   * revision marked it deleted; `reconcile`: a reconcile did not find it on the server.
   */
  reason: 'deleted' | 'vanished' | 'reconcile';
  /** The API time of the deletion when known (`dateModified` or the revision's `dateCreated`). */
  deletedAt: string | null;
  /** The record as last seen (the server's copy for `deleted`, the cached copy otherwise). */
  record?: Record_;
}

/** Options of the sync plugin (also accepted under `sync` in the client options). */
export interface SyncOptions {
  /** Where the cache lives; otherwise the client option `storage`. */
  storage?: StorageAdapter;
  /** Records per atomic write during a full sync or reconcile (default 2000). */
  batchSize?: number;
  /**
   * Changed records held in memory by an incremental run before it writes them early (default 50000).
   * Below it, an incremental run is one atomic write; above it, the data goes in batches and the
   * watermark still moves only in the last write.
   */
  maxDeltaInMemory?: number;
  /** Largest share of the cache a reconcile may delete without `force` (default 0.05). */
  reconcileMaxShare?: number;
  /** Pages fetched at once by the sync's listings (default: the client's `concurrency`). */
  concurrency?: number;
  /** The writer lock. */
  lock?: WriterLockOptions;
  /** Receives every progress event of every run. */
  onProgress?: ProgressListener;
}

/** Options of one sync call. */
export interface SyncRunOptions {
  /** Aborts the run; what was committed stays, the watermark does not move. */
  signal?: AbortSignal;
  /** Progress events of this run (in addition to the plugin's `onProgress`). */
  onProgress?: ProgressListener;
}

/** Options of `syncStudy`. */
export interface StudySyncOptions extends SyncRunOptions {
  /** Streams to sync (default: all). */
  streams?: readonly Stream[];
  /** List subjects, visits and queries in full and drop what the server no longer has (default false). */
  refresh?: boolean;
}

/** Options of `reconcile`. */
export interface ReconcileOptions extends SyncRunOptions {
  /** Delete even when the listing is empty or the share is exceeded (default false). */
  force?: boolean;
  /** Largest share of the cache it may delete (default: the plugin's `reconcileMaxShare`, 0.05). */
  maxShare?: number;
}

/** The outcome of a reconcile. */
export interface ReconcileResult {
  studyKey: string;
  /** Records the server listed. */
  listed: number;
  /** Live records in the cache before. */
  cached: number;
  /** Records written because they were new or changed (`added + changed`). */
  stored: number;
  /** Records new to the cache. */
  added: number;
  /** Records the cache held in another version. */
  changed: number;
  /** Cached records the server no longer has, now tombstoned. */
  deleted: number;
  durationMs: number;
}

/** Options of the read side. */
export interface ReadOptions<T> {
  /** Keeps only items for which this returns true. */
  where?: (item: T) => boolean;
  /** Items per chunk of `iterate*` (default 500); the whole stream is never in memory. */
  batchSize?: number;
  /** Start after this id. */
  afterId?: number;
  /** Stop after this many items. */
  limit?: number;
}
