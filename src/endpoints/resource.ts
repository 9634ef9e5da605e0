/**
 * The listing and get-by-id behaviour every resource shares. The API has no id paths: `get` lists
 * with a filter on the id field, throws `NotFoundError` when nothing matches and checks that what
 * came back carries the id asked for.
 */
import * as v from 'valibot';
import { defaultMaxConcurrency } from '../core/config.js';
import type { ClientContext } from '../core/context.js';
import { ConfigurationError, NotFoundError, ResponseValidationError } from '../core/errors.js';
import {
  expandIn,
  type FilterInput,
  type FilterObject,
  renderFilter,
  renderSort,
  type SortInput,
} from '../core/filters.js';
import { type FetchedPage, type PageFetcher, Paginator, type PaginatorOptions } from '../core/pagination.js';
import { type AnySchema, parseResponse } from '../core/schema.js';
import { checkPageSize, checkPositiveInteger, pathSegment } from '../core/validate.js';
import { PaginationSchema } from './fields.js';
import { MergedListing } from './merged-listing.js';

/**
 * Options every listing takes. `F` is the resource's filterable and sortable fields, so a misspelt
 * field in `filter` or `sort` is a compile error; a raw filter string is not checked.
 */
export interface ListOptions<F extends string = string> {
  /**
   * Which items to return: an object (AND), an array of objects (OR of groups) or a raw API string.
   * `{ in: [...] }` asks for any of several values of one attribute: one request per value, merged
   * in sort order (the API itself allows an attribute once per filter and has no "in").
   * @example { formKey: { in: ['AE', 'CM'] }, deleted: false, dateModified: { gte: new Date('2024-06-01') } } // records
   */
  filter?: FilterInput<F>;
  /**
   * Sort keys: `'field'`, `'-field'` (descending) or `{ field, direction }`.
   * @example ['-dateModified', 'recordId']
   */
  sort?: SortInput<F> | readonly SortInput<F>[];
  /** Items per page, 1..500 (default: the client's `pageSize`, 500). */
  pageSize?: number;
  /** Requests in flight at the start of the listing (default: the client's `concurrency`, 8). */
  concurrency?: number;
  /**
   * The most requests in flight the listing may grow to while the server's latency holds and no
   * 429 comes (default: the client's `maxConcurrency`; when this listing sets its own
   * `concurrency`, twice that, at most 16).
   * @example client.records.list('MYSTUDY', { concurrency: 4, maxConcurrency: 12 })
   */
  maxConcurrency?: number;
  /** Aborts the listing. */
  signal?: AbortSignal;
}

/** Options of `get`. */
export interface GetOptions {
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** What a resource is: where it lives, its id field and its item schema. */
export interface ResourceSpec<T> {
  /** The path segment after `/studies/{studyKey}`, e.g. `sites`. */
  segment: string;
  /** The field `get` filters on. */
  idField: string;
  /** The field for a numeric id, when it differs (subjects: `subjectId` for numbers, `subjectKey` for strings). */
  numericIdField?: string;
  /** The item schema. */
  schema: AnySchema<T>;
  /** Singular noun for messages, e.g. `site`. */
  noun: string;
}

/** Extra query parameters a listing may send beyond page, size, sort and filter. */
export type ExtraParams = Record<string, string | undefined>;

const envelopeCache = new WeakMap<
  object,
  AnySchema<{ data: unknown[]; pagination: v.InferOutput<typeof PaginationSchema> }>
>();

function envelopeOf<T>(schema: AnySchema<T>) {
  let envelope = envelopeCache.get(schema);
  if (!envelope) {
    envelope = v.looseObject({ pagination: PaginationSchema, data: v.array(schema) }) as AnySchema<{
      data: unknown[];
      pagination: v.InferOutput<typeof PaginationSchema>;
    }>;
    envelopeCache.set(schema, envelope);
  }
  return envelope as AnySchema<{ data: T[]; pagination: v.InferOutput<typeof PaginationSchema> }>;
}

const LOOSE_ENVELOPE = v.looseObject({ pagination: PaginationSchema, data: v.array(v.unknown()) });

/** Starts a listing of `path` as a {@link Paginator}. Nothing is sent until it is iterated. */
export function listPath<T>(
  ctx: ClientContext,
  path: string,
  spec: Pick<ResourceSpec<T>, 'schema' | 'noun' | 'idField'>,
  options: ListOptions,
  extra: ExtraParams = {},
  recordDataFilter?: FilterInput,
): Paginator<T> {
  const size = checkPageSize(options.pageSize ?? ctx.pageSize);
  const concurrency = checkPositiveInteger(options.concurrency ?? ctx.concurrency, 'concurrency');
  const maxConcurrency = checkPositiveInteger(
    options.maxConcurrency ??
      (options.concurrency === undefined ? ctx.maxConcurrency : defaultMaxConcurrency(concurrency)),
    'maxConcurrency (at least concurrency)',
    concurrency,
  );
  const sort = renderSort(options.sort);
  const parts = expandIn(options.filter);
  if (parts) {
    // One request per `in` value, merged on the sort keys, sharing the page pool between them. The
    // id closes the sort so that the merged order is the one a single request would have given.
    const order = sort.some((key) => key.startsWith(`${spec.idField},`))
      ? sort
      : [...sort, `${spec.idField},asc`];
    const share = (n: number) => Math.max(1, Math.floor(n / Math.max(1, parts.length)));
    const listings = parts.map((filter) =>
      listPath(
        ctx,
        path,
        spec,
        {
          ...options,
          filter,
          sort: order,
          concurrency: share(concurrency),
          maxConcurrency: Math.max(share(concurrency), share(maxConcurrency)),
        },
        extra,
        recordDataFilter,
      ),
    );
    return new MergedListing(listings, order, size);
  }
  const filter = renderFilter(options.filter, { param: 'filter' });
  const dataFilter = renderFilter(recordDataFilter, { param: 'recordDataFilter', allowContains: true });
  const envelope = ctx.validate ? envelopeOf(spec.schema) : LOOSE_ENVELOPE;

  const fetchPage: PageFetcher<T> = async (
    page,
    { signal, admit, onStatus, probing },
  ): Promise<FetchedPage<T>> => {
    const params = new URLSearchParams();
    params.set('page', String(page));
    params.set('size', String(size));
    for (const s of sort) params.append('sort', s);
    if (filter !== undefined) params.set('filter', filter);
    if (dataFilter !== undefined) params.set('recordDataFilter', dataFilter);
    for (const [key, value] of Object.entries(extra)) if (value !== undefined) params.set(key, value);
    const body = await ctx.transport.request({
      method: 'GET',
      path,
      searchParams: params,
      signal,
      admit,
      probing,
      onStatus,
    });
    const info = { method: 'GET', url: ctx.transport.apiRoot + path };
    const parsed = parseResponse(envelope, body, `${spec.noun} page ${page}`, info) as {
      data: T[];
      pagination: { totalPages: number; totalElements: number };
    };
    return {
      items: parsed.data,
      totalPages: parsed.pagination.totalPages,
      totalElements: parsed.pagination.totalElements,
    };
  };
  const paginatorOptions: PaginatorOptions = { concurrency, maxConcurrency };
  if (options.signal) paginatorOptions.signal = options.signal;
  return new Paginator(fetchPage, paginatorOptions);
}

/**
 * The error for an id that matched nothing. A string id may be a subject key (patient data), so
 * only numeric ids are quoted in the message.
 */
export function notFound(noun: string, idField: string, id: string | number): NotFoundError {
  const which = typeof id === 'number' ? `${idField} ${id}` : `the ${idField} asked for`;
  return new NotFoundError(404, { message: `No ${noun} with ${which}` });
}

/**
 * The first item of a filtered listing, checked to be the one asked for: `NotFoundError` when the
 * listing is empty, `ResponseValidationError` when the API answered another item (a filter it did
 * not apply), so a wrong item is never returned as if it were the right one.
 */
export async function findById<T>(
  listing: AsyncIterable<T>,
  noun: string,
  idField: string,
  id: string | number,
): Promise<T> {
  for await (const item of listing) {
    if (String((item as Record<string, unknown>)[idField]) === String(id)) return item;
    throw new ResponseValidationError(
      `The API answered a ${noun} with another ${idField} than the one asked for (the filter was not applied)`,
      [{ path: `data.0.${idField}`, message: `expected the ${idField} asked for, received another` }],
    );
  }
  throw notFound(noun, idField, id);
}

/** Checks an id passed to `get`. */
export function checkId(id: unknown, idField: string): string | number {
  if (typeof id === 'number' && Number.isFinite(id)) return id;
  if (typeof id === 'string' && id.length > 0) return id;
  throw new ConfigurationError(`${idField} must be a non-empty string or a number`);
}

/** A study-scoped resource with `list` and `get`; `F` names the fields `filter` and `sort` take. */
export class StudyResource<T, F extends string = string> {
  /** @internal */
  protected readonly ctx: ClientContext;
  /** @internal */
  protected readonly spec: ResourceSpec<T>;

  constructor(ctx: ClientContext, spec: ResourceSpec<T>) {
    this.ctx = ctx;
    this.spec = spec;
  }

  /** The path of this resource in a study. */
  protected pathFor(studyKey: string): string {
    return `/studies/${pathSegment(studyKey, 'studyKey')}/${this.spec.segment}`;
  }

  /**
   * Lists the resource in a study; `for await` it, or call `.pages()` / `.toArray()`.
   * @example for await (const item of client.sites.list('MYSTUDY', { filter: { siteEnrollmentStatus: 'Enrollment Open' } })) {}
   */
  list(studyKey: string, options: ListOptions<F> = {}): Paginator<T> {
    return listPath(this.ctx, this.pathFor(studyKey), this.spec, options);
  }

  /**
   * Fetches one item by its id field; throws `NotFoundError` when there is none, and
   * `ResponseValidationError` when the API answers an item with another id.
   */
  async get(studyKey: string, id: string | number, options: GetOptions = {}): Promise<T> {
    const value = checkId(id, this.spec.idField);
    const field =
      typeof value === 'number' ? (this.spec.numericIdField ?? this.spec.idField) : this.spec.idField;
    const filter = { [field]: value } as FilterObject<F>;
    const listOptions: ListOptions<F> = { filter, pageSize: 1, concurrency: 1 };
    if (options.signal) listOptions.signal = options.signal;
    return findById(this.list(studyKey, listOptions), this.spec.noun, field, value);
  }
}
