/**
 * Query management: the state of a query from its latest comment, its age, and streams of the
 * queries of a study, a subject or a site, each item paired with its state. Nothing here holds a
 * study's queries in memory: every workflow is one streamed pass.
 */
import type { Imednet } from '../../client.js';
import { parseApiDate } from '../../core/dates.js';
import { ConfigurationError, NotFoundError } from '../../core/errors.js';
import type { FilterInput, FilterObject } from '../../core/filters.js';
import type { Query, QueryComment, QueryField } from '../../endpoints/queries.js';
import type { ListOptions } from '../../endpoints/resource.js';

/**
 * Where a query stands, read from its latest comment (highest `sequence`): `closed` when that
 * comment is closed, `answered` when its status says answered, `open` otherwise, and
 * `no-comments` when the query has no comment at all.
 */
export type QueryState = 'open' | 'answered' | 'closed' | 'no-comments';

/** A query with what the workflows worked out about it; the query itself is handed on unchanged. */
export interface QueryStatus {
  /** The query as the API sent it. */
  query: Query;
  /** Its state, from its latest comment. */
  state: QueryState;
  /**
   * Whole days from `dateCreated` to now (to the closing comment's `date` for a closed query);
   * undefined when a date is missing or unreadable.
   */
  ageDays: number | undefined;
  /** Its latest comment (highest `sequence`), undefined when it has none. */
  latest: QueryComment | undefined;
}

/** Options shared by the query streams. */
export interface QueryStreamOptions {
  /**
   * A server-side filter on the queries, applied before the workflow's own selection.
   * @example { dateCreated: { gte: new Date('2025-01-01') } }
   */
  filter?: FilterInput<QueryField>;
  /** The instant ages are measured to for queries that are not closed (default: now). */
  now?: Date;
  /** Aborts the listing. */
  signal?: AbortSignal;
  /** Items per page, 1..500 (default: the client's `pageSize`). */
  pageSize?: number;
}

/** Options of {@link subjectQueries}: the filter is an object, since `subjectKey` is added to it. */
export interface SubjectQueryOptions extends Omit<QueryStreamOptions, 'filter'> {
  /**
   * A server-side filter on the subject's queries (an object: the subject key is ANDed to it).
   * @example { annotationType: 'question' }
   */
  filter?: FilterObject<Exclude<QueryField, 'subjectKey'>>;
}

/** Options of {@link queryCounts}. */
export type QueryCountOptions = Omit<QueryStreamOptions, 'now'>;

/** Which site {@link siteQueries} reads: by id or by name. */
export type SiteSelector = { siteId: number } | { siteName: string };

/** How many queries are in each state; `total` is their sum. */
export interface QueryCounts {
  open: number;
  answered: number;
  closed: number;
  noComments: number;
  total: number;
}

const DAY_MS = 86_400_000;
const ANSWERED = /answered/i;

/**
 * The latest comment of a query: the one with the highest `sequence`. The API does not promise any
 * order in the array, so the position never decides unless no comment carries a sequence at all,
 * and then the last one in the array is the only clue there is.
 */
export function latestComment(query: Query): QueryComment | undefined {
  const comments = query.queryComments;
  if (!comments || comments.length === 0) return undefined;
  let latest: QueryComment | undefined;
  for (const comment of comments) {
    if (typeof comment.sequence !== 'number') continue;
    if (latest === undefined || comment.sequence > (latest.sequence as number)) latest = comment;
  }
  return latest ?? comments[comments.length - 1];
}

function stateOf(latest: QueryComment | undefined): QueryState {
  if (latest === undefined) return 'no-comments';
  if (latest.closed === true) return 'closed';
  if (typeof latest.annotationStatus === 'string' && ANSWERED.test(latest.annotationStatus))
    return 'answered';
  return 'open';
}

/**
 * The state of a query, from the comment with the highest `sequence`.
 * @example for await (const query of client.queries.list('MYSTUDY')) console.log(query.annotationId, queryState(query)); // 12 'answered'
 */
export function queryState(query: Query): QueryState {
  return stateOf(latestComment(query));
}

function ageOf(query: Query, latest: QueryComment | undefined, now: Date): number | undefined {
  const created = parseApiDate(query.dateCreated);
  const end = latest?.closed === true ? parseApiDate(latest.date) : now;
  if (created === undefined || end === undefined || Number.isNaN(end.getTime())) return undefined;
  return Math.floor((end.getTime() - created.getTime()) / DAY_MS);
}

/**
 * Whole days a query has been (or was) open: from `dateCreated` to `now` while it is not closed,
 * to the closing comment's `date` once it is. `undefined` when a date is missing or unreadable.
 * @example for await (const query of client.queries.list('MYSTUDY')) console.log(queryAgeDays(query, new Date('2025-06-01T00:00:00Z'))); // 12
 */
export function queryAgeDays(query: Query, now: Date = new Date()): number | undefined {
  return ageOf(query, latestComment(query), now);
}

/** The state, age and latest comment of a query. */
export function queryStatus(query: Query, now: Date = new Date()): QueryStatus {
  const latest = latestComment(query);
  return { query, state: stateOf(latest), ageDays: ageOf(query, latest, now), latest };
}

function listOptions(options: {
  filter?: FilterInput<QueryField> | undefined;
  signal?: AbortSignal | undefined;
  pageSize?: number | undefined;
}): ListOptions<QueryField> {
  const out: ListOptions<QueryField> = {};
  if (options.filter !== undefined) out.filter = options.filter;
  if (options.signal !== undefined) out.signal = options.signal;
  if (options.pageSize !== undefined) out.pageSize = options.pageSize;
  return out;
}

function checkNow(now: Date | undefined): Date {
  if (now === undefined) return new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw new ConfigurationError('now must be a valid Date');
  return now;
}

function isOpen(state: QueryState): boolean {
  return state === 'open' || state === 'answered';
}

/**
 * Streams the queries of a study that are not closed: state `open` or `answered`. "Open" here is
 * the Python SDK's: a query whose latest comment is not closed, so an answered query waiting for
 * the monitor counts too (tell them apart by `state`). Queries with no comment at all are left
 * out; {@link queryCounts} counts them as `noComments`.
 * @example for await (const { query, state, ageDays } of openQueries(client, 'MYSTUDY')) {}
 */
export async function* openQueries(
  client: Imednet,
  studyKey: string,
  options: QueryStreamOptions = {},
): AsyncGenerator<QueryStatus, void, undefined> {
  const now = checkNow(options.now);
  for await (const query of client.queries.list(studyKey, listOptions(options))) {
    const status = queryStatus(query, now);
    if (isOpen(status.state)) yield status;
  }
}

/**
 * Streams every query of one subject, in any state, selected by the server on `subjectKey`.
 * @example for await (const { query, state } of subjectQueries(client, 'MYSTUDY', '01-001')) {}
 */
export async function* subjectQueries(
  client: Imednet,
  studyKey: string,
  subjectKey: string,
  options: SubjectQueryOptions = {},
): AsyncGenerator<QueryStatus, void, undefined> {
  if (typeof subjectKey !== 'string' || subjectKey.length === 0)
    throw new ConfigurationError('subjectKey must be a non-empty string');
  const extra = options.filter;
  if (extra !== undefined && (typeof extra !== 'object' || extra === null || Array.isArray(extra)))
    throw new ConfigurationError('subjectQueries: filter must be an object (the subject key is added to it)');
  if (extra !== undefined && 'subjectKey' in extra)
    throw new ConfigurationError(
      'subjectQueries: filter must not name subjectKey; it is the subject asked for',
    );
  const now = checkNow(options.now);
  const filter: FilterObject<QueryField> = { ...extra, subjectKey };
  for await (const query of client.queries.list(studyKey, listOptions({ ...options, filter }))) {
    yield queryStatus(query, now);
  }
}

/**
 * The keys of a site's subjects. A site by name is looked up first: subjects always carry
 * `siteId` but may come without `siteName`, and an unknown name must not pass for an empty site.
 */
async function siteSubjectKeys(
  client: Imednet,
  studyKey: string,
  site: SiteSelector,
  signal: AbortSignal | undefined,
): Promise<Set<string>> {
  const withSignal = <T extends object>(o: T) => (signal ? { ...o, signal } : o);
  let siteId: number;
  let lookedUp = false;
  if ('siteName' in site && 'siteId' in site)
    throw new ConfigurationError('site: give siteId or siteName, not both');
  if ('siteName' in site && site.siteName !== undefined) {
    if (typeof site.siteName !== 'string' || site.siteName.length === 0)
      throw new ConfigurationError('siteName must be a non-empty string');
    const sites = client.sites.list(studyKey, withSignal({ filter: { siteName: site.siteName } }));
    let found: number | undefined;
    for await (const candidate of sites) {
      // The name is matched exactly here too: a server that ignored the filter must not pick a site.
      if (candidate.siteName === site.siteName) {
        found = candidate.siteId;
        break;
      }
    }
    if (found === undefined)
      throw new NotFoundError(404, { message: `No site with the siteName asked for in study ${studyKey}` });
    siteId = found;
    lookedUp = true;
  } else if ('siteId' in site && Number.isInteger(site.siteId)) {
    siteId = site.siteId;
  } else {
    throw new ConfigurationError('site must be { siteId: <integer> } or { siteName: <string> }');
  }
  const keys = new Set<string>();
  const subjects = client.subjects.list(studyKey, withSignal({ filter: { siteId } }));
  for await (const subject of subjects) {
    if (subject.siteId === siteId) keys.add(subject.subjectKey);
  }
  // No subject at an id nobody checked: tell an unknown site from an empty one (one request, only then).
  if (keys.size === 0 && !lookedUp) await client.sites.get(studyKey, siteId, withSignal({}));
  return keys;
}

/**
 * Streams every query of one site's subjects, in any state. Queries carry no site, so this is one
 * listing of the site's subjects (filtered by the server) and one pass over the study's queries,
 * keeping those whose `subjectKey` belongs to the site: never a filter with one term per subject.
 * A site that does not exist throws `NotFoundError`.
 * @example for await (const { query } of siteQueries(client, 'MYSTUDY', { siteName: 'Chicago General' })) {}
 */
export async function* siteQueries(
  client: Imednet,
  studyKey: string,
  site: SiteSelector,
  options: QueryStreamOptions = {},
): AsyncGenerator<QueryStatus, void, undefined> {
  if (typeof site !== 'object' || site === null)
    throw new ConfigurationError('site must be { siteId: <integer> } or { siteName: <string> }');
  const now = checkNow(options.now);
  const keys = await siteSubjectKeys(client, studyKey, site, options.signal);
  if (keys.size === 0) return;
  for await (const query of client.queries.list(studyKey, listOptions(options))) {
    if (typeof query.subjectKey === 'string' && keys.has(query.subjectKey)) yield queryStatus(query, now);
  }
}

/**
 * Counts a study's queries by state in one streamed pass; `filter` narrows them on the server.
 * @example const { open, answered, closed, total } = await queryCounts(client, 'MYSTUDY')
 */
export async function queryCounts(
  client: Imednet,
  studyKey: string,
  options: QueryCountOptions = {},
): Promise<QueryCounts> {
  const counts: QueryCounts = { open: 0, answered: 0, closed: 0, noComments: 0, total: 0 };
  for await (const query of client.queries.list(studyKey, listOptions(options))) {
    const state = queryState(query);
    if (state === 'no-comments') counts.noComments++;
    else counts[state]++;
    counts.total++;
  }
  return counts;
}
