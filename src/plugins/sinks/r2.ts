/**
 * `imednet/plugins/sinks/r2`: a Cloudflare R2 bucket, through its Workers binding, as the output
 * directory of the file sinks (CSV, NDJSON, JSON, Parquet). No dependency and no credentials: the
 * binding is the bucket. (Outside a Worker, reach R2 through its S3 API with
 * `imednet/plugins/sinks/s3`.)
 *
 * A file becomes an object only when it is finished: each file is a (multipart, past one part)
 * upload completed when the sink gives the file its final name, so no object under a final name is
 * ever half written, and an interrupted export's unfinished files are written again by the rerun.
 * The manifest is `<prefix>/.imednet-export.json`. The binding cannot list pending multipart
 * uploads, so those a crash leaves behind are cleared by the bucket's lifecycle rule (R2 aborts
 * incomplete multipart uploads after seven days by default).
 */
import type { OutputDirectory } from './directory.js';
import { ExportConfigurationError } from './errors.js';
import { type ObjectStore, ObjectStoreError, objectDirectory } from './object-store.js';

export { ObjectStoreError } from './object-store.js';

/** What {@link r2Directory} uses of an R2 multipart upload (the binding's `R2MultipartUpload`). */
export interface R2MultipartUploadLike {
  readonly uploadId: string;
  uploadPart(partNumber: number, value: Uint8Array): Promise<{ partNumber: number; etag: string }>;
  abort(): Promise<void>;
  complete(parts: Array<{ partNumber: number; etag: string }>): Promise<unknown>;
}

/**
 * What {@link r2Directory} uses of an R2 bucket binding (`env.MY_BUCKET`, the Workers type
 * `R2Bucket`); written out here so that the package needs no Workers types.
 */
export interface R2BucketLike {
  get(key: string): Promise<{ body: ReadableStream<Uint8Array> } | null>;
  head(key: string): Promise<unknown>;
  put(key: string, value: Uint8Array): Promise<unknown>;
  delete(key: string): Promise<void>;
  createMultipartUpload(key: string): Promise<R2MultipartUploadLike>;
  resumeMultipartUpload(key: string, uploadId: string): R2MultipartUploadLike;
}

/**
 * Options of {@link r2Directory}.
 * @example { prefix: 'exports/MYSTUDY', partSize: 16 * 1024 * 1024 }
 */
export interface R2DirectoryOptions {
  /** Folder of the objects within the bucket, e.g. `exports/MYSTUDY` (default: the bucket's root). */
  prefix?: string;
  /**
   * Bytes per part of a multipart upload (default 8 MiB, at least 5 MiB; R2 wants every part but
   * the last of one size, which this keeps). Each table being written holds up to this much in
   * memory (a Worker has 128 MB); a file smaller than one part is sent as one `put`.
   */
  partSize?: number;
  /** The binding's name, for messages (default `R2`). */
  name?: string;
}

/** The R2 binding as an object store: its errors, which carry no credential, wrapped with the key. */
function r2Store(bucket: R2BucketLike, label: string): ObjectStore {
  const attempt = async <T>(action: string, key: string, step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (cause) {
      // R2 binding errors are transient or programming errors; neither depends on a setting.
      const why = cause instanceof Error ? cause.message.slice(0, 200) : 'an error';
      throw new ObjectStoreError(`${label}: ${action} ${key} failed: ${why}`, { cause });
    }
  };
  return {
    label,
    put: (key, body) => attempt('writing', key, () => bucket.put(key, body)).then(() => undefined),
    async get(key) {
      const object = await attempt('reading', key, () => bucket.get(key));
      return object ? object.body : undefined;
    },
    delete: (key) => attempt('deleting', key, () => bucket.delete(key)),
    exists: async (key) => (await attempt('reading', key, () => bucket.head(key))) !== null,
    createMultipart: (key) =>
      attempt('starting an upload of', key, async () => (await bucket.createMultipartUpload(key)).uploadId),
    uploadPart: (key, uploadId, partNumber, body) =>
      attempt(`sending part ${partNumber} of`, key, async () => {
        const part = await bucket.resumeMultipartUpload(key, uploadId).uploadPart(partNumber, body);
        return { partNumber: part.partNumber, etag: part.etag };
      }),
    completeMultipart: (key, uploadId, parts) =>
      attempt('completing the upload of', key, async () => {
        await bucket.resumeMultipartUpload(key, uploadId).complete([...parts]);
      }),
    abortMultipart: (key, uploadId) =>
      attempt('aborting the upload of', key, () => bucket.resumeMultipartUpload(key, uploadId).abort()),
  };
}

/**
 * An R2 bucket binding as the output directory of a file sink, in a Cloudflare Worker: each
 * finished file becomes one object, `<prefix>/<file>`, and only once whole (see the module note).
 * @example
 * import { parquetSink } from 'imednet/plugins/sinks/parquet';
 *
 * import { type R2BucketLike, r2Directory } from 'imednet/plugins/sinks/r2';
 *
 * // A Worker with an R2 binding named EXPORTS (r2_buckets in its wrangler configuration):
 * export default {
 *   async fetch(_request: Request, env: { EXPORTS: R2BucketLike }) {
 *     const sink = parquetSink({ directory: r2Directory(env.EXPORTS, { prefix: 'MYSTUDY' }) });
 *     // ... exportRows(batches, sink, { studyKey: 'MYSTUDY', tables })
 *     return new Response(sink.kind);
 *   },
 * };
 */
export function r2Directory(bucket: R2BucketLike, options: R2DirectoryOptions = {}): OutputDirectory {
  const methods = ['get', 'head', 'put', 'delete', 'createMultipartUpload', 'resumeMultipartUpload'] as const;
  if (
    typeof bucket !== 'object' ||
    bucket === null ||
    methods.some((m) => typeof (bucket as unknown as Record<string, unknown>)[m] !== 'function')
  ) {
    throw new ExportConfigurationError(
      'r2Directory: give an R2 bucket binding (env.<BINDING> in a Worker, with r2_buckets in wrangler configuration)',
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw new ExportConfigurationError('r2Directory: options must be an object');
  }
  const name = typeof options.name === 'string' && options.name ? options.name : 'R2';
  return objectDirectory(r2Store(bucket, `r2://${name}`), {
    prefix: options.prefix,
    partSize: options.partSize,
    caller: 'r2Directory',
  });
}
