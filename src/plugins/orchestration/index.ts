/**
 * `imednet/plugins/orchestration`: run something for every study, on a schedule. Discovery
 * (`studyKeys`, `studyMetadata` as plain JSON with secrets masked), a log-safe
 * `describeConnection`, and `runPerStudy`: bounded concurrency, per-study retries with backoff and
 * timeouts, a run that slows down together on 429, and one result per study. Web APIs only: it
 * runs the same in Node, Deno, Bun, Workers and browsers.
 *
 * @example
 * import { Imednet } from 'imednet';
 * import { describeConnection, runPerStudy } from 'imednet/plugins/orchestration';
 *
 * const client = new Imednet({ apiKey, securityKey });
 * console.log(describeConnection(client).summary);
 * const results = await runPerStudy(
 *   async (studyKey, { signal }) => (await client.subjects.list(studyKey, { signal }).toArray()).length,
 *   { client, exclude: ['TRAINING'], concurrency: 2, timeout: 10 * 60_000 },
 * );
 * for (const r of results) console.log(`${r.studyKey}: ${r.status}`, r.value ?? r.error);
 */
export {
  type ConnectionDescription,
  type ConnectionSettings,
  describeConnection,
} from './connection.js';
export {
  type DiscoveryOptions,
  isSecretField,
  type JsonValue,
  type StudiesClient,
  type StudyMetadata,
  studyKeys,
  studyMetadata,
} from './discovery.js';
export { isRetryableError, retryAfterOf } from './retryable.js';
export {
  type RetryEvent,
  type RunPerStudyOptions,
  runPerStudy,
  type StudyResult,
  type StudyTask,
  type StudyTaskContext,
} from './run.js';
