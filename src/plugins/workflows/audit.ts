/**
 * The audit trail: a study's record revisions in time order, narrowed on the server by a time
 * window, a user, a record, a subject or a form, and streamed.
 */
import type { Imednet } from '../../client.js';
import { formatApiTimestamp, parseApiDate } from '../../core/dates.js';
import { ConfigurationError } from '../../core/errors.js';
import type { FilterObject } from '../../core/filters.js';
import type { RecordRevision, RecordRevisionField } from '../../endpoints/record-revisions.js';
import type { ListOptions } from '../../endpoints/resource.js';
import { type DateInput, readRange } from './dates.js';

/** Options of {@link auditTrail}. */
export interface AuditTrailOptions {
  /**
   * Revisions made at or after this instant. A string is an ISO date (`2025-01-31`,
   * `2025-01-31T08:00:00Z`, `2025-01-31T10:00:00+02:00`) or the API's `YYYY-MM-DD HH:mm:ss` (UTC).
   * @example '2025-01-01'
   */
  from?: DateInput;
  /**
   * Revisions made at or before this instant; same forms as `from`. A date with no time covers
   * that whole day: `to: '2025-01-31'` takes in revisions made on 31 January.
   * @example new Date('2025-03-31T23:59:59Z')
   */
  to?: DateInput;
  /** Only revisions made by this user login. */
  user?: string;
  /** Only revisions of this record. */
  recordId?: number;
  /** Only revisions of this subject's records. */
  subjectKey?: string;
  /** Only revisions of records on this form. */
  formKey?: string;
  /** Aborts the listing. */
  signal?: AbortSignal;
  /** Items per page, 1..500 (default: the client's `pageSize`). */
  pageSize?: number;
}

/**
 * Streams a study's record revisions made between `from` and `to` (both inclusive), optionally by
 * one user, on one record, subject or form, oldest first (then by revision id).
 *
 * Every criterion is applied by the server. The API allows an attribute once per filter, so
 * `dateCreated` carries one bound: `>= from` when `from` is given, else `<= to`. With both, the
 * revisions come sorted by `dateCreated` and the stream stops at the first one after `to`,
 * abandoning the pages beyond it. The API's timestamps have whole seconds: a `from` inside a
 * second starts at the next one, a `to` inside a second ends with it.
 * @example for await (const rev of auditTrail(client, 'MYSTUDY', { from: '2025-01-01', to: '2025-01-31', user: 'jdoe' })) {}
 */
export async function* auditTrail(
  client: Imednet,
  studyKey: string,
  options: AuditTrailOptions = {},
): AsyncGenerator<RecordRevision, void, undefined> {
  const { from, to } = readRange(options, 'auditTrail');
  const fromMs = from?.getTime();
  const toMs = to?.getTime();
  for (const key of ['user', 'subjectKey', 'formKey'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0))
      throw new ConfigurationError(`auditTrail: ${key} must be a non-empty string`);
  }
  if (options.recordId !== undefined && !Number.isInteger(options.recordId))
    throw new ConfigurationError('auditTrail: recordId must be an integer');

  const filter: FilterObject<RecordRevisionField> = {
    dateCreated:
      fromMs !== undefined
        ? { gte: new Date(fromMs) }
        : toMs !== undefined
          ? { lte: new Date(toMs) }
          : undefined,
    user: options.user,
    recordId: options.recordId,
    subjectKey: options.subjectKey,
    formKey: options.formKey,
  };
  const list: ListOptions<RecordRevisionField> = { filter, sort: ['dateCreated', 'recordRevisionId'] };
  if (options.signal !== undefined) list.signal = options.signal;
  if (options.pageSize !== undefined) list.pageSize = options.pageSize;

  // Only with both bounds is the upper one left to this side; the server holds the rest.
  const upper = fromMs !== undefined && toMs !== undefined ? toMs : undefined;
  for await (const revision of client.recordRevisions.list(studyKey, list)) {
    if (upper !== undefined && after(revision.dateCreated, upper)) return;
    yield revision;
  }
}

/** Whether a timestamp is later than `ms`; one that cannot be read is compared as the server sorts it, as text. */
function after(dateCreated: string, ms: number): boolean {
  const at = parseApiDate(dateCreated);
  return at === undefined ? dateCreated > formatApiTimestamp(new Date(ms)) : at.getTime() > ms;
}
