/**
 * Object storage as an output directory (internal: `s3Directory` and `r2Directory` are built on
 * it). An object store has no append, no truncate and no rename, but an upload becomes an object
 * only when it completes, and that is the atomic rename the file sinks want:
 *
 * - opening `<name>.partial` starts (lazily) an upload whose key is `<prefix>/<name>`, without the
 *   `.partial`; writes are held in memory up to `partSize` bytes, then sent as a part of a
 *   multipart upload; `close()` leaves the upload pending;
 * - `rename('<name>.partial', '<name>')` completes it, and only then does the object exist (a file
 *   smaller than one part is sent as one PUT at that moment); `remove('<name>.partial')` aborts it;
 * - a file opened under any other name is completed when it is closed;
 * - nothing half-written is ever stored, so the directory says `durability: 'rename'` and refuses
 *   to reopen a file at a length (`open(name, keep > 0)`): a rerun after a crash writes unfinished
 *   files again from their start;
 * - the manifest (`writeTextAtomic`) is a single PUT, which is atomic.
 *
 * A crash leaves the multipart uploads it started pending in the bucket, invisible and billed: the
 * S3 directory aborts them for a key when it opens that key again (where the store lists uploads),
 * and a bucket lifecycle rule (AbortIncompleteMultipartUpload after a day or so) clears the rest.
 *
 * Memory: each open file holds up to `partSize` bytes until its part is sent, so an export writing
 * many tables at once holds up to tables × `partSize`.
 */
import { ImednetError } from '../../core/errors.js';
import { sleep } from '../../core/sleep.js';
import { checkFileName, type OutputDirectory, type OutputFile } from './directory.js';
import { ExportConfigurationError } from './errors.js';

/** A part of a multipart upload, as its completion lists it. */
export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/**
 * The few operations an object store offers a directory. Keys are whole (the prefix included).
 * A failure that settings cause (credentials, a missing bucket) is an `ExportConfigurationError`;
 * any other (5xx, the network) an `ObjectStoreError`, which the export runner retries.
 */
export interface ObjectStore {
  /** Where it is, for messages (`s3://bucket`, `r2://BINDING`): never a credential. */
  readonly label: string;
  /** Stores an object whole. */
  put(key: string, body: Uint8Array): Promise<void>;
  /** An object's bytes, streamed; undefined when there is no such object. */
  get(key: string): Promise<ReadableStream<Uint8Array> | undefined>;
  /** Removes an object; nothing when it is missing. */
  delete(key: string): Promise<void>;
  /** Whether an object exists. */
  exists(key: string): Promise<boolean>;
  /** Starts a multipart upload; resolves to its id. */
  createMultipart(key: string): Promise<string>;
  /** Sends part `partNumber` (from 1); sending a number again replaces that part. */
  uploadPart(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<UploadedPart>;
  /** Completes an upload: the object appears. */
  completeMultipart(key: string, uploadId: string, parts: readonly UploadedPart[]): Promise<void>;
  /** Abandons an upload and its parts. */
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /** Aborts every pending upload of exactly `key` (left by a crashed run), where the store can list them. */
  abortStale?(key: string): Promise<void>;
}

/** A request to an object store failed in a way that may pass (5xx, the network): worth retrying. */
export class ObjectStoreError extends ImednetError {
  static override readonly kind: string = 'ObjectStoreError';
}

/** Options of {@link objectDirectory}. */
export interface ObjectDirectoryOptions {
  /** Folder of the keys within the bucket (no leading or trailing `/`, no `.` or `..`). */
  prefix?: string | undefined;
  /** Bytes per part of a multipart upload (default 8 MiB; at least 5 MiB, the stores' floor). */
  partSize?: number | undefined;
  /** What created it, for messages (`s3Directory`). */
  caller: string;
}

const MiB = 1024 * 1024;
/** The smallest part S3 and R2 accept (but for the last). */
export const MIN_PART_SIZE = 5 * MiB;
/** S3's and R2's most parts in one upload. */
const MAX_PARTS = 10_000;
const PARTIAL = '.partial';

/** Checks and normalises a key prefix: `''` or `a/b` (leading and trailing `/` dropped). */
export function checkPrefix(prefix: string | undefined, caller: string): string {
  if (prefix === undefined) return '';
  const trimmed = typeof prefix === 'string' ? prefix.replace(/^\/+|\/+$/g, '') : undefined;
  if (
    trimmed === undefined ||
    (trimmed !== '' && trimmed.split('/').some((s) => s === '' || s === '.' || s === '..')) ||
    /[\u0000-\u001f\u007f\\]/.test(trimmed)
  ) {
    throw new ExportConfigurationError(
      `${caller}: prefix must be a key folder such as 'exports/2026' (no empty, '.' or '..' segment, no backslash or control character)`,
    );
  }
  return trimmed;
}

/** The first `length` bytes of `chunks`, copied into one array, and the chunks after them. */
function take(chunks: readonly Uint8Array[], length: number): { body: Uint8Array; rest: Uint8Array[] } {
  const body = new Uint8Array(length);
  let at = 0;
  let i = 0;
  for (; i < chunks.length && at < length; i++) {
    const chunk = chunks[i]!;
    const n = Math.min(chunk.length, length - at);
    body.set(chunk.subarray(0, n), at);
    at += n;
    if (n < chunk.length) return { body, rest: [chunk.subarray(n), ...chunks.slice(i + 1)] };
  }
  return { body, rest: chunks.slice(i) };
}

/**
 * Completing an object is not a batch write, so the export runner does not retry it, and a lost
 * completion costs the whole file: a transient failure there is tried again, a few times.
 */
async function completing<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof ObjectStoreError) || attempt >= 3) throw error;
      await sleep(Math.random() * 200 * 2 ** attempt);
    }
  }
}

/** One file being written: an upload not yet complete. */
interface Upload {
  key: string;
  /** Bytes not yet sent as a part. */
  chunks: Uint8Array[];
  buffered: number;
  size: number;
  uploadId: string | undefined;
  parts: UploadedPart[];
  closed: boolean;
  /** A part or a completion is in flight: a second write must wait (writes are sequential). */
  busy: boolean;
}

/** An object store as an {@link OutputDirectory} with `durability: 'rename'` (see the module note). */
export function objectDirectory(store: ObjectStore, options: ObjectDirectoryOptions): OutputDirectory {
  const { caller } = options;
  const prefix = checkPrefix(options.prefix, caller);
  const partSize = options.partSize ?? 8 * MiB;
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) {
    throw new ExportConfigurationError(
      `${caller}: partSize must be a whole number of bytes, at least 5 MiB (${MIN_PART_SIZE}), the smallest part object stores accept (got ${String(options.partSize)})`,
    );
  }
  const label = prefix ? `${store.label}/${prefix}` : store.label;
  const keyOf = (name: string) => {
    checkFileName(name);
    const bare = name.endsWith(PARTIAL) ? name.slice(0, -PARTIAL.length) : name;
    return prefix ? `${prefix}/${bare}` : bare;
  };
  const uploads = new Map<string, Upload>();

  /** Sends every full part held; on a failure the file is as it was before `added` bytes came. */
  async function sendParts(upload: Upload, added: number): Promise<void> {
    const saved = { chunks: upload.chunks, buffered: upload.buffered, parts: upload.parts.length };
    try {
      while (upload.buffered >= partSize) {
        if (upload.parts.length >= MAX_PARTS) {
          throw new ExportConfigurationError(
            `${caller}: ${upload.key} would need more than ${MAX_PARTS} parts of ${partSize} bytes; give a larger partSize`,
          );
        }
        upload.uploadId ??= await store.createMultipart(upload.key);
        const { body, rest } = take(upload.chunks, partSize);
        const part = await store.uploadPart(upload.key, upload.uploadId, upload.parts.length + 1, body);
        upload.parts.push(part);
        upload.chunks = rest;
        upload.buffered -= partSize;
      }
    } catch (error) {
      // Part numbers sent again replace the parts sent here, so a retry of the write is exact.
      upload.parts.length = saved.parts;
      upload.chunks = saved.chunks.slice(0, saved.chunks.length - 1);
      upload.buffered = saved.buffered - added;
      upload.size -= added;
      throw error;
    }
  }

  async function complete(upload: Upload): Promise<void> {
    if (upload.uploadId === undefined) {
      const { body } = take(upload.chunks, upload.buffered);
      await completing(() => store.put(upload.key, body));
      return;
    }
    const uploadId = upload.uploadId;
    if (upload.buffered > 0) {
      const { body } = take(upload.chunks, upload.buffered);
      const part = await completing(() =>
        store.uploadPart(upload.key, uploadId, upload.parts.length + 1, body),
      );
      upload.parts.push(part);
      upload.chunks = [];
      upload.buffered = 0;
    }
    await completing(() => store.completeMultipart(upload.key, uploadId, upload.parts));
  }

  async function abandon(name: string): Promise<void> {
    const upload = uploads.get(name);
    if (!upload) return;
    uploads.delete(name);
    upload.closed = true;
    if (upload.uploadId !== undefined) await store.abortMultipart(upload.key, upload.uploadId);
  }

  return {
    label,
    durability: 'rename',
    async open(name, keep) {
      const key = keyOf(name);
      if (keep !== 0) {
        throw new ExportConfigurationError(
          `${caller}: ${name} cannot be reopened at ${keep} bytes in ${label}: an object is stored only whole, so an unfinished file is written again from its start`,
        );
      }
      await abandon(name);
      if (name.endsWith(PARTIAL) && store.abortStale) {
        // Best effort: a store or a policy that does not allow listing uploads leaves them to the lifecycle rule.
        await store.abortStale(key).catch(() => undefined);
      }
      const upload: Upload = {
        key,
        chunks: [],
        buffered: 0,
        size: 0,
        uploadId: undefined,
        parts: [],
        closed: false,
        busy: false,
      };
      uploads.set(name, upload);
      const file: OutputFile = {
        get size() {
          return upload.size;
        },
        async write(bytes) {
          if (upload.closed) throw new ImednetError(`${caller}: ${name} in ${label} is closed`);
          if (upload.busy) throw new ImednetError(`${caller}: ${name} in ${label} has a write in flight`);
          upload.busy = true;
          try {
            upload.chunks = [...upload.chunks, bytes.slice()];
            upload.buffered += bytes.length;
            upload.size += bytes.length;
            await sendParts(upload, bytes.length);
          } finally {
            upload.busy = false;
          }
        },
        // Nothing is durable before the upload completes: there is nothing to sync.
        sync: async () => undefined,
        async close() {
          if (upload.closed) return;
          if (name.endsWith(PARTIAL)) {
            upload.closed = true;
            return;
          }
          await complete(upload);
          upload.closed = true;
          uploads.delete(name);
        },
      };
      return file;
    },
    async rename(from, to) {
      const upload = uploads.get(from);
      if (!upload || !from.endsWith(PARTIAL)) {
        throw new ExportConfigurationError(
          `${caller}: ${label} renames only a file being written, <name>.partial, to <name> (asked ${from} to ${to})`,
        );
      }
      if (keyOf(to) !== upload.key || to.endsWith(PARTIAL)) {
        throw new ExportConfigurationError(
          `${caller}: ${from} in ${label} can only be finished as ${from.slice(0, -PARTIAL.length)} (asked ${to})`,
        );
      }
      upload.closed = true;
      await complete(upload);
      uploads.delete(from);
    },
    async remove(name) {
      const key = keyOf(name);
      if (name.endsWith(PARTIAL)) await abandon(name);
      else await store.delete(key);
    },
    async readText(name) {
      const stream = await store.get(keyOf(name));
      return stream === undefined ? undefined : new Response(stream).text();
    },
    async writeTextAtomic(name, text) {
      await store.put(keyOf(name), new TextEncoder().encode(text));
    },
    async exists(name) {
      const key = keyOf(name);
      return name.endsWith(PARTIAL) ? uploads.has(name) : store.exists(key);
    },
    async *read(name) {
      const stream = await store.get(keyOf(name));
      if (stream === undefined)
        throw new ImednetError(`${caller}: no object ${keyOf(name)} in ${store.label}`);
      const reader = stream.getReader();
      let finished = false;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            finished = true;
            return;
          }
          yield value;
        }
      } finally {
        // Left early: let the store stop sending.
        if (!finished) await reader.cancel().catch(() => undefined);
      }
    },
  };
}
