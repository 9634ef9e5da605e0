// The Worker's bindings and the few Workers runtime types this example uses, written out so that it
// compiles without @cloudflare/workers-types (swap these for that package's types if you use it:
// its R2Bucket, Queue, MessageBatch and ScheduledController fit the shapes below).
import type { R2BucketLike } from 'imednet/plugins/sinks/r2';

/** What one queue message asks for: one part of one study, exported into its own folder. */
export interface PartMessage {
  /** The export run, e.g. `2026-01-02` (one folder per run). */
  run: string;
  studyKey: string;
  /** `all` (the whole study) or `form-<formKey>`. */
  part: string;
  /** The form keys of the part; absent for `all`. */
  forms?: string[];
}

/** An object read from R2 (the parts of `R2ObjectBody` used here). */
export interface StoredObject {
  readonly etag: string;
  readonly body: ReadableStream<Uint8Array>;
  text(): Promise<string>;
}

/** The R2 bucket binding: what `r2Directory` needs, plus conditional writes and listing. */
export interface Bucket extends R2BucketLike {
  get(key: string): Promise<StoredObject | null>;
  /** With `onlyIf`, resolves to null when the condition fails (nothing is written). */
  put(
    key: string,
    value: string | Uint8Array,
    options?: {
      onlyIf?: { etagMatches?: string; etagDoesNotMatch?: string };
      httpMetadata?: { contentType?: string };
    },
  ): Promise<{ etag: string } | null>;
  list(options: { prefix: string; cursor?: string }): Promise<{
    objects: Array<{ key: string }>;
    truncated: boolean;
    cursor?: string;
  }>;
}

/** A queue producer binding. */
export interface QueueProducer<Body> {
  send(body: Body, options?: { delaySeconds?: number }): Promise<void>;
  sendBatch(messages: Iterable<{ body: Body }>): Promise<void>;
}

/** One delivered queue message. */
export interface QueueMessage<Body> {
  readonly id: string;
  readonly body: Body;
  /** 1 on the first delivery, then 2, 3, ... */
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

/** What a queue consumer receives. */
export interface MessageBatch<Body> {
  /** The queue's name, which tells the export queue from its dead-letter queue. */
  readonly queue: string;
  readonly messages: readonly QueueMessage<Body>[];
}

/** A cron trigger's event. */
export interface ScheduledController {
  readonly scheduledTime: number;
  readonly cron: string;
}

/** The Worker's environment: wrangler.toml's vars and bindings, and the secrets. */
export interface Env {
  /** Secret (`wrangler secret put IMEDNET_API_KEY`). */
  IMEDNET_API_KEY: string;
  /** Secret (`wrangler secret put IMEDNET_SECURITY_KEY`). */
  IMEDNET_SECURITY_KEY: string;
  /** Secret: the bearer token of the HTTP routes; without it they answer 404. */
  ADMIN_TOKEN?: string;
  IMEDNET_BASE_URL?: string;
  /** Folder of everything this Worker writes in the bucket (default `exports`). */
  EXPORT_PREFIX?: string;
  /** A study with more records than this is split into one part per form (default 20000). */
  SPLIT_ABOVE_RECORDS?: string;
  /** Rows per Parquet file: the step an interrupted part resumes from (default 100000). */
  ROWS_PER_FILE?: string;
  /**
   * How long a part's lease lasts unless renewed (default 120; renewed every third of it): how
   * long a consumer that died keeps its part from the others.
   */
  LEASE_SECONDS?: string;
  /** The dead-letter queue's name, as in wrangler.toml. */
  DEAD_LETTER_QUEUE: string;
  /**
   * A rehearsal of failures, JSON; leave it unset in production. `{"failAfterBatches": 5,
   * "parts": ["MYSTUDY/form-AE"]}` stops those parts after 5 batches on their first delivery.
   */
  FAULT_DRILL?: string;
  EXPORTS: Bucket;
  EXPORT_QUEUE: QueueProducer<PartMessage>;
}

/** A positive integer var, or its default. */
export function intVar(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}
