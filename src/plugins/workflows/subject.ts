/**
 * Everything about one subject: the subject, its visits, its records and its queries, fetched at
 * once. One subject's data is small, so it comes back as arrays.
 */
import type { Imednet } from '../../client.js';
import { ConfigurationError } from '../../core/errors.js';
import type { Query } from '../../endpoints/queries.js';
import type { Record_ } from '../../endpoints/records.js';
import type { Subject } from '../../endpoints/subjects.js';
import type { Visit } from '../../endpoints/visits.js';

/** One subject with its visits, records and queries. */
export interface SubjectData {
  /** The subject. */
  subject: Subject;
  /** Its visits, in the API's order. */
  visits: Visit[];
  /** Its records, in the API's order. */
  records: Record_[];
  /** Its queries, in the API's order. */
  queries: Query[];
}

/** Options of {@link subjectData}. */
export interface SubjectDataOptions {
  /** Aborts the four requests. */
  signal?: AbortSignal;
}

/**
 * Fetches a subject with its visits, records and queries: the four listings start together. A
 * subject that does not exist throws `NotFoundError`, and the three other listings are aborted at
 * once rather than left to run.
 * @example const { subject, visits, records, queries } = await subjectData(client, 'MYSTUDY', '01-001')
 */
export async function subjectData(
  client: Imednet,
  studyKey: string,
  subjectKey: string,
  options: SubjectDataOptions = {},
): Promise<SubjectData> {
  if (typeof subjectKey !== 'string' || subjectKey.length === 0)
    throw new ConfigurationError('subjectKey must be a non-empty string');
  // One controller for the four, so that the first failure (a missing subject above all) stops the rest.
  const controller = new AbortController();
  const outer = options.signal;
  const abort = () => controller.abort(outer?.reason);
  if (outer?.aborted) abort();
  outer?.addEventListener('abort', abort, { once: true });
  const signal = controller.signal;
  const filter = { subjectKey };
  const stopOthers = <T>(promise: Promise<T>): Promise<T> =>
    promise.catch((error: unknown) => {
      controller.abort(error);
      throw error;
    });
  try {
    const [subject, visits, records, queries] = await Promise.all([
      stopOthers(client.subjects.get(studyKey, subjectKey, { signal })),
      stopOthers(client.visits.list(studyKey, { filter, signal }).toArray()),
      stopOthers(client.records.list(studyKey, { filter, signal }).toArray()),
      stopOthers(client.queries.list(studyKey, { filter, signal }).toArray()),
    ]);
    return { subject, visits, records, queries };
  } finally {
    outer?.removeEventListener('abort', abort);
  }
}
