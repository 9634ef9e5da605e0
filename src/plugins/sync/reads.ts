/**
 * The read side of the cache: cached items and tombstones, streamed from the store in bounded
 * chunks. Readers take no lock and never wait for a writer: they see the last committed write.
 */
import { ConfigurationError } from '../../core/errors.js';
import type { Record_ } from '../../endpoints/records.js';
import type { StorageAdapter } from '../../storage/types.js';
import { checkStudyKey, collectionOf, idKey, STREAMS, type Stream } from './keys.js';
import { positiveInteger } from './run.js';
import type { ReadOptions, StreamItems, Tombstone } from './types.js';

/** The read methods of `client.cache`. */
export class CacheReader {
  readonly #storage: () => StorageAdapter;

  constructor(storage: () => StorageAdapter) {
    this.#storage = storage;
  }

  /** The storage adapter the cache uses. */
  get storage(): StorageAdapter {
    return this.#storage();
  }

  /** One cached live record, or undefined. */
  async getCachedRecord(studyKey: string, recordId: number): Promise<Record_ | undefined> {
    return this.storage.get<Record_>(collectionOf(checkStudyKey(studyKey), 'records'), idKey(recordId));
  }

  /**
   * Cached live records in recordId order, collected into an array. For a large study prefer
   * {@link CacheReader.iterateRecords}, which holds one chunk at a time.
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
}
