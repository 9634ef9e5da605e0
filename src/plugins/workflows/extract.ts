/**
 * Records by criteria that span subjects, visits and records. Every criterion the records listing
 * can filter on goes to the server; the two it cannot (a subject's status and a visit's date, which
 * records do not carry) are resolved by one filtered listing each and matched on the client.
 *
 * | criterion | where it is applied |
 * |---|---|
 * | `form`, `recordStatus`, `subjectKey`, `site` (id or name), `interval` (id or name), `deleted` | server (`filter`; a list is one request per value, merged in order) |
 * | `recordData` | server (`recordDataFilter`) |
 * | `dateCreated`, `dateModified` | server for one bound (`>=` from, or `<=` to when there is no from); the API takes an attribute once, so the other bound is checked on the client |
 * | `subjectStatus` | a subjects listing filtered on the server, then matched on the client by subject key |
 * | `visitDate` | a visits listing filtered on the server (one bound), then matched on the client by visit id |
 */
import type { Imednet } from '../../client.js';
import { formatApiTimestamp } from '../../core/dates.js';
import { ConfigurationError, NotFoundError } from '../../core/errors.js';
import type { FilterCondition, FilterInput, FilterObject } from '../../core/filters.js';
import type { Record as ApiRecord, RecordField } from '../../endpoints/records.js';
import { type DateRange, readRange } from './dates.js';
import type { StudyStructure } from './structure.js';

/** One value or several (any of them). */
export type OneOrMany<T> = T | readonly T[];

/**
 * What records to extract. Criteria are joined by AND; a list means any of its values.
 * @example { site: 'Chicago General Hospital', form: ['AE', 'CM'], subjectStatus: 'Enrolled', dateModified: { from: '2025-01-01' } }
 */
export interface RecordCriteria {
  /** Form keys. */
  form?: OneOrMany<string>;
  /** Record statuses, e.g. `'Record Complete'`. */
  recordStatus?: OneOrMany<string>;
  /** Subject keys. */
  subjectKey?: OneOrMany<string>;
  /** Subject statuses, e.g. `'Enrolled'` (records do not carry it: matched on the client). */
  subjectStatus?: OneOrMany<string>;
  /** Sites, by id or by name. */
  site?: OneOrMany<number | string>;
  /** Intervals (visit definitions), by id or by name. */
  interval?: OneOrMany<number | string>;
  /** Records whose visit's date is in this range (records do not carry it: matched on the client). */
  visitDate?: DateRange;
  /** Records created in this range. */
  dateCreated?: DateRange;
  /** Records last modified in this range. */
  dateModified?: DateRange;
  /** Only deleted (true) or only live (false) records; both when absent. */
  deleted?: boolean;
  /**
   * A filter on the values inside `recordData`, sent as `recordDataFilter`.
   * @example { aeser: 'Y', aeterm: { contains: 'head' } }
   */
  recordData?: FilterInput;
}

/** Options of `client.workflows.records`. */
export interface ExtractOptions {
  /** Items per page (default: the client's). */
  pageSize?: number;
  /** Requests in flight at the start (default: the client's). */
  concurrency?: number;
  /** Aborts the extraction. */
  signal?: AbortSignal;
}

/** How an extraction applies its criteria: what the server filters and what the client matches. */
export interface ExtractionPlan {
  /** The records listing's `filter`, as an object (lists become `{ in }`). */
  filter: FilterObject<RecordField>;
  /** The `recordDataFilter` sent, if any. */
  recordDataFilter?: FilterInput;
  /** Criteria matched on the client, by name. */
  clientSide: string[];
}

/** Most requests an `in` split may make before the longest list is matched on the client instead. */
const MAX_REQUESTS = 16;

const asList = <T>(value: OneOrMany<T>): readonly T[] =>
  Array.isArray(value) ? (value as readonly T[]) : [value as T];

/** Records matching criteria across subjects, visits and records, streamed in recordId order. */
export class Extraction implements AsyncIterable<ApiRecord> {
  readonly #client: Imednet;
  readonly #studyKey: string;
  readonly #criteria: RecordCriteria;
  readonly #options: ExtractOptions;
  readonly #structure: () => Promise<StudyStructure>;

  constructor(
    client: Imednet,
    studyKey: string,
    criteria: RecordCriteria,
    options: ExtractOptions,
    structure: () => Promise<StudyStructure>,
  ) {
    if (typeof criteria !== 'object' || criteria === null) {
      throw new ConfigurationError('records: criteria must be an object (use {} for every record)');
    }
    const known = new Set([
      'form',
      'recordStatus',
      'subjectKey',
      'subjectStatus',
      'site',
      'interval',
      'visitDate',
      'dateCreated',
      'dateModified',
      'deleted',
      'recordData',
    ]);
    for (const key of Object.keys(criteria)) {
      if (!known.has(key)) throw new ConfigurationError(`records: unknown criterion "${key}"`);
    }
    for (const key of ['visitDate', 'dateCreated', 'dateModified'] as const) {
      if (criteria[key] !== undefined) readRange(criteria[key]!, `records: ${key}`);
    }
    this.#client = client;
    this.#studyKey = studyKey;
    this.#criteria = criteria;
    this.#options = options;
    this.#structure = structure;
  }

  /** Works out which criteria the server filters and which the client matches. */
  async plan(): Promise<ExtractionPlan> {
    return (await this.#plan()).plan;
  }

  /** The plan, and the values (names resolved to ids) of each list left to the client. */
  async #plan(): Promise<{ plan: ExtractionPlan; clientLists: Map<string, readonly (string | number)[]> }> {
    const c = this.#criteria;
    const filter: Record<string, FilterCondition> = {};
    const clientSide: string[] = [];
    const lists: Array<[attribute: string, values: readonly (string | number)[]]> = [];
    const put = (attribute: string, values: readonly (string | number)[]) => {
      if (values.length === 0) throw new ConfigurationError(`records: ${attribute} is an empty list`);
      if (values.length === 1) filter[attribute] = values[0]!;
      else lists.push([attribute, [...new Set(values)]]);
    };
    if (c.form !== undefined) put('formKey', asList(c.form));
    if (c.recordStatus !== undefined) put('recordStatus', asList(c.recordStatus));
    if (c.subjectKey !== undefined) put('subjectKey', asList(c.subjectKey));
    if (c.site !== undefined || c.interval !== undefined) {
      const structure = await this.#structure();
      if (c.site !== undefined) {
        put(
          'siteId',
          asList(c.site).map((site) => {
            if (typeof site === 'number') return site;
            const found = structure.site(site);
            if (!found) throw new NotFoundError(404, { message: `No site named ${JSON.stringify(site)}` });
            return found.siteId;
          }),
        );
      }
      if (c.interval !== undefined) {
        put(
          'intervalId',
          asList(c.interval).map((interval) => {
            if (typeof interval === 'number') return interval;
            const found = structure.interval(interval);
            if (!found) {
              throw new NotFoundError(404, { message: `No interval named ${JSON.stringify(interval)}` });
            }
            return found.interval.intervalId;
          }),
        );
      }
    }
    if (c.deleted !== undefined) filter.deleted = c.deleted;
    for (const key of ['dateCreated', 'dateModified'] as const) {
      const range = c[key];
      if (range === undefined) continue;
      const { from, to } = readRange(range, `records: ${key}`);
      if (from) filter[key] = { gte: from };
      else if (to) filter[key] = { lte: to };
      if (from && to) clientSide.push(`${key}.to`);
    }
    // Each list multiplies the requests; past a handful, the longest lists are matched here instead.
    lists.sort((a, b) => a[1].length - b[1].length);
    let requests = 1;
    const clientLists = new Map<string, readonly (string | number)[]>();
    for (const [attribute, values] of lists) {
      if (requests * values.length <= MAX_REQUESTS) {
        requests *= values.length;
        filter[attribute] = { in: values };
      } else {
        clientSide.push(attribute);
        clientLists.set(attribute, values);
      }
    }
    if (c.subjectStatus !== undefined) clientSide.push('subjectStatus');
    if (c.visitDate !== undefined) clientSide.push('visitDate');
    const plan: ExtractionPlan = {
      filter: filter as FilterObject<RecordField>,
      ...(c.recordData !== undefined ? { recordDataFilter: c.recordData } : {}),
      clientSide,
    };
    return { plan, clientLists };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ApiRecord> {
    for await (const chunk of this.chunks()) for (const record of chunk) yield record;
  }

  /**
   * The matching records a listing page at a time (a page may come out empty when the client
   * matched none of it): cheaper than one `await` per record for a consumer that takes arrays.
   */
  async *chunks(): AsyncGenerator<ApiRecord[], void, undefined> {
    const c = this.#criteria;
    const { plan, clientLists } = await this.#plan();
    const { signal } = this.#options;
    const checks: Array<(record: ApiRecord) => boolean> = [];
    for (const name of plan.clientSide) {
      if (name === 'dateCreated.to' || name === 'dateModified.to') {
        const key = name === 'dateCreated.to' ? 'dateCreated' : 'dateModified';
        const to = formatApiTimestamp(readRange(c[key]!, key).to!);
        checks.push((record) => record[key] <= to);
      } else if (name === 'subjectStatus') {
        const keys = new Set<string>();
        const statuses = asList(c.subjectStatus!);
        const listing = this.#client.subjects.list(this.#studyKey, {
          filter: { subjectStatus: statuses.length === 1 ? statuses[0]! : { in: statuses } },
          ...(signal ? { signal } : {}),
        });
        for await (const subject of listing) keys.add(subject.subjectKey);
        checks.push((record) => record.subjectKey != null && keys.has(record.subjectKey));
      } else if (name === 'visitDate') {
        const visits = new Set<number>();
        const { from, to } = readRange(c.visitDate!, 'visitDate');
        // Visit dates are day precision ('YYYY-MM-DD'); the bounds compare as text at that length.
        const day = (text: string | undefined) => text?.slice(0, 10);
        const [lo, hi] = [day(from && formatApiTimestamp(from)), day(to && formatApiTimestamp(to))];
        const listing = this.#client.visits.list(this.#studyKey, {
          ...(lo ? { filter: { visitDate: { gte: lo } } } : hi ? { filter: { visitDate: { lte: hi } } } : {}),
          ...(signal ? { signal } : {}),
        });
        for await (const visit of listing) {
          const date = day(visit.visitDate ?? undefined);
          if (date && (!lo || date >= lo) && (!hi || date <= hi)) visits.add(visit.visitId);
        }
        checks.push((record) => record.visitId != null && visits.has(record.visitId));
      } else {
        // A list matched on the client: formKey, recordStatus, subjectKey, siteId or intervalId.
        const values = new Set<unknown>(clientLists.get(name));
        const attribute = name as keyof ApiRecord;
        checks.push((record) => values.has(record[attribute]));
      }
    }
    const listing = this.#client.records.list(this.#studyKey, {
      filter: plan.filter,
      ...(plan.recordDataFilter !== undefined ? { recordDataFilter: plan.recordDataFilter } : {}),
      ...(this.#options.pageSize !== undefined ? { pageSize: this.#options.pageSize } : {}),
      ...(this.#options.concurrency !== undefined ? { concurrency: this.#options.concurrency } : {}),
      ...(signal ? { signal } : {}),
    });
    for await (const page of listing.pages()) {
      if (checks.length === 0) {
        yield page.items;
        continue;
      }
      yield page.items.filter((record) => checks.every((check) => check(record)));
    }
  }

  /**
   * How many records match, from one request for a single record: exact when the server applies
   * every criterion (`plan().clientSide` is empty), otherwise the number the server's part matches,
   * an upper bound. For progress bars and estimates before an export.
   * @example const { records, exact } = await client.workflows.records('MYSTUDY', { form: 'AE' }).count();
   */
  async count(): Promise<{ records: number; exact: boolean }> {
    const { plan } = await this.#plan();
    const { signal } = this.#options;
    const listing = this.#client.records.list(this.#studyKey, {
      filter: plan.filter,
      ...(plan.recordDataFilter !== undefined ? { recordDataFilter: plan.recordDataFilter } : {}),
      pageSize: 1,
      ...(signal ? { signal } : {}),
    });
    // Page 0 alone: leaving the loop after it sends nothing more.
    for await (const page of listing.pages()) {
      return { records: page.totalElements, exact: plan.clientSide.length === 0 };
    }
    return { records: 0, exact: plan.clientSide.length === 0 };
  }

  /** Collects every matching record. Use only when they fit in memory. */
  async toArray(): Promise<ApiRecord[]> {
    const out: ApiRecord[] = [];
    for await (const record of this) out.push(record);
    return out;
  }
}
