// Where everything lives in the bucket, under EXPORT_PREFIX (default `exports`):
//
//   runs/<run>/plan.json                          the parts the producer enqueued
//   runs/<run>/<study>/<part>/study=…/form=…/part-<n>.parquet   the part's rows (Hive layout)
//   runs/<run>/<study>/<part>/.imednet-export.json the part's manifest: what a retry resumes from
//   runs/<run>/<study>/<part>/_result.json         written once the part is complete
//   runs/<run>/<study>/<part>/_last-error.json     the last failed attempt's error
//   failed/<run>/<study>/<part>.json               a part the dead-letter queue received
//   leases/<run>/<study>/<part>.json               who is exporting the part right now
//
// Every part has its own folder and manifest, so two parts never write the same object.
import type { Bucket, Env, PartMessage } from './env.js';

const RUN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A run id as given (letters, digits, `.`, `_`, `-`), or an error. */
export function checkRun(run: string): string {
  if (!RUN.test(run)) throw new RangeError('a run id is 1-64 letters, digits, ".", "_" or "-"');
  return run;
}

/** Whether a queue message is a part this Worker produced. */
export function isPartMessage(body: unknown): body is PartMessage {
  const m = body as PartMessage | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.run === 'string' &&
    RUN.test(m.run) &&
    typeof m.studyKey === 'string' &&
    m.studyKey !== '' &&
    typeof m.part === 'string' &&
    m.part !== '' &&
    (m.forms === undefined || (Array.isArray(m.forms) && m.forms.every((f) => typeof f === 'string')))
  );
}

/** `<study>/<part>`, for logs and the fault drill. */
export const partId = (part: PartMessage) => `${part.studyKey}/${part.part}`;

const root = (env: Env) => (env.EXPORT_PREFIX ?? 'exports').replace(/^\/+|\/+$/g, '') || 'exports';
// Study and form keys become one key segment each, whatever characters they hold.
const segment = (text: string) => encodeURIComponent(text);
const under = (env: Env, folder: string, part: PartMessage) =>
  `${root(env)}/${folder}/${part.run}/${segment(part.studyKey)}/${segment(part.part)}`;

/** The part's own folder: its Parquet files, manifest and result. */
export const partPrefix = (env: Env, part: PartMessage) => under(env, 'runs', part);
/** The run's plan, as the producer wrote it. */
export const planKey = (env: Env, run: string) => `${root(env)}/runs/${run}/plan.json`;
/** Written once the part is complete. */
export const resultKey = (env: Env, part: PartMessage) => `${partPrefix(env, part)}/_result.json`;
/** The part's last failed attempt, for the dead-letter consumer to copy. */
export const lastErrorKey = (env: Env, part: PartMessage) => `${partPrefix(env, part)}/_last-error.json`;
/** The dead-letter consumer's record of a part that failed every delivery. */
export const failureKey = (env: Env, part: PartMessage) => `${under(env, 'failed', part)}.json`;
/** The part's lease (src/lease.ts). */
export const leaseKey = (env: Env, part: PartMessage) => `${under(env, 'leases', part)}.json`;

/** An object's JSON, or undefined when there is no such object. */
export async function readJson<T>(bucket: Bucket, key: string): Promise<T | undefined> {
  const object = await bucket.get(key);
  return object ? (JSON.parse(await object.text()) as T) : undefined;
}

/** Writes a value as a JSON object. */
export async function writeJson(bucket: Bucket, key: string, value: unknown): Promise<void> {
  await bucket.put(key, JSON.stringify(value, null, 2), {
    httpMetadata: { contentType: 'application/json' },
  });
}

/**
 * An error as one line for logs and failure records. The SDK's messages carry no key (keys travel
 * in headers, never in URLs) and mask filter values; the cut keeps a record small.
 */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
