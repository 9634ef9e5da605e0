/** Records (eCRF instances): listing with `recordDataFilter`, and creation through a job. */
import * as v from 'valibot';
import type { ClientContext } from '../core/context.js';
import { ConfigurationError } from '../core/errors.js';
import type { FilterInput } from '../core/filters.js';
import type { Paginator } from '../core/pagination.js';
import { parseResponse } from '../core/schema.js';
import { bool, type FieldsOf, KeywordSchema, num, sentNum, sentText, text } from './fields.js';
import { type ListOptions, listPath, StudyResource } from './resource.js';

/**
 * A record. Values live in `recordData`, keyed by variable name.
 * Always sent (non-null, checked): `studyKey`, `formId`, `formKey`, `recordId`, `dateCreated`, `dateModified`; the other fields may be absent or null.
 */
export const RecordSchema = v.looseObject({
  studyKey: sentText(),
  intervalId: num(),
  formId: sentNum(),
  formKey: sentText(),
  siteId: num(),
  recordId: sentNum(),
  recordOid: text(),
  recordType: text(),
  recordStatus: text(),
  deleted: bool(),
  dateCreated: sentText(),
  dateModified: sentText(),
  subjectId: num(),
  subjectOid: text(),
  subjectKey: text(),
  visitId: num(),
  parentRecordId: num(),
  keywords: v.nullish(v.array(KeywordSchema)),
  recordData: v.nullish(v.looseObject({})),
});
/** A record. Values live in `recordData`, keyed by variable name. */
export type Record_ = v.InferOutput<typeof RecordSchema>;
export type { Record_ as Record };
/** The record fields `filter` and `sort` can name (`recordData` values go in `recordDataFilter`). */
export type RecordField = FieldsOf<typeof RecordSchema>;

/** The accepted answer to a record POST. */
export const RecordJobStatusSchema = v.looseObject({ jobId: text(), batchId: v.string(), state: text() });
/** The accepted answer to a record POST: poll `batchId` with `jobs.wait`. */
export type RecordJobStatus = v.InferOutput<typeof RecordJobStatusSchema>;

/** Options of `records.list`. */
export interface RecordListOptions extends ListOptions<RecordField> {
  /**
   * A filter on the values inside `recordData`; also supports `contains` (`=~`).
   * @example { aeterm: { contains: 'headache' }, aeser: 'Y' }
   */
  recordDataFilter?: FilterInput;
}

/** Values of a record, keyed by variable name. */
export type RecordValues = { [variableName: string]: unknown };

/** Which form a record is on: `formKey` or `formId`. */
export type FormRef = { formKey: string; formId?: never } | { formId: number; formKey?: never };
/** Which site a registration goes to: `siteName` or `siteId`. */
export type SiteRef = { siteName: string; siteId?: never } | { siteId: number; siteName?: never };
/** Which subject a record belongs to: `subjectKey`, `subjectId` or `subjectOid`. */
export type SubjectRef =
  | { subjectKey: string; subjectId?: never; subjectOid?: never }
  | { subjectId: number; subjectKey?: never; subjectOid?: never }
  | { subjectOid: string; subjectKey?: never; subjectId?: never };
/** Which interval a scheduled record is in: `intervalName` or `intervalId`. */
export type IntervalRef =
  | { intervalName: string; intervalId?: never }
  | { intervalId: number; intervalName?: never };

/** One item of a record POST body. Build it with the three builders below. */
export interface RecordCreateItem {
  formKey?: string;
  formId?: number;
  siteName?: string;
  siteId?: number;
  subjectKey?: string;
  subjectId?: number;
  subjectOid?: string;
  intervalName?: string;
  intervalId?: number;
  recordId?: number;
  recordOid?: string;
  data: RecordValues;
}

function pickOne(
  input: Record<string, unknown>,
  keys: readonly string[],
  what: string,
): Record<string, unknown> {
  const present = keys.filter((k) => input[k] !== undefined && input[k] !== null && input[k] !== '');
  if (present.length !== 1) {
    throw new ConfigurationError(
      `${what}: give exactly one of ${keys.join(', ')} (got ${present.length === 0 ? 'none' : present.join(', ')})`,
    );
  }
  return { [present[0]!]: input[present[0]!] };
}

function checkData(data: unknown, what: string): RecordValues {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigurationError(`${what}: data must be an object of variable values`);
  }
  if (Object.keys(data).length === 0)
    throw new ConfigurationError(`${what}: data is empty; the API rejects a record with no values`);
  return data as RecordValues;
}

const FORM = ['formKey', 'formId'];
const SITE = ['siteName', 'siteId'];
const SUBJECT = ['subjectKey', 'subjectId', 'subjectOid'];
const INTERVAL = ['intervalName', 'intervalId'];

/** One builder for the three shapes: exactly one reference of each group, and non-empty data. */
function build(what: string, input: object, groups: readonly string[][]): RecordCreateItem {
  const raw = input as Record<string, unknown>;
  const item: Record<string, unknown> = {};
  for (const keys of groups) Object.assign(item, pickOne(raw, keys, what));
  item.data = checkData(raw.data, what);
  return item as unknown as RecordCreateItem;
}

/**
 * Builds a subject registration: a record on the registration form at a site. The server assigns
 * the subject key, so none may be given.
 * @example registerSubject({ formKey: 'REG', siteName: 'Chicago General Hospital', data: { regdt: '2025-01-15' } })
 */
export function registerSubject(input: FormRef & SiteRef & { data: RecordValues }): RecordCreateItem {
  const raw = input as unknown as Record<string, unknown>;
  if (SUBJECT.some((key) => raw[key] !== undefined)) {
    throw new ConfigurationError(
      'registerSubject: a registration must not carry a subject key; the server assigns it',
    );
  }
  return build('registerSubject', input, [FORM, SITE]);
}

/**
 * Builds an update of a scheduled record: a subject's form in a named interval.
 * @example updateScheduledRecord({ formKey: 'VS', subjectKey: '01-001', intervalName: 'Week 2', data: { sysbp: 120 } })
 */
export function updateScheduledRecord(
  input: FormRef & SubjectRef & IntervalRef & { data: RecordValues },
): RecordCreateItem {
  return build('updateScheduledRecord', input, [FORM, SUBJECT, INTERVAL]);
}

/**
 * Builds a new unscheduled record for an existing subject.
 * @example createRecord({ formKey: 'AE', subjectKey: '01-001', data: { aeterm: 'Headache' } })
 */
export function createRecord(input: FormRef & SubjectRef & { data: RecordValues }): RecordCreateItem {
  return build('createRecord', input, [FORM, SUBJECT]);
}

/** Options of `records.create`. */
export interface RecordCreateOptions {
  /** An email address the API notifies when the job finishes (sent as `x-email-notify`). */
  emailNotify?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
}

function checkItem(item: unknown, index: number): RecordCreateItem {
  const what = `records[${index}]`;
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    throw new ConfigurationError(`${what} must be an object`);
  const raw = item as Record<string, unknown>;
  pickOne(raw, FORM, what);
  checkData(raw.data, what);
  const isRegistration = raw.siteName !== undefined || raw.siteId !== undefined;
  if (isRegistration && raw.subjectKey !== undefined) {
    throw new ConfigurationError(
      `${what}: a registration must not carry a subject key; the server assigns it`,
    );
  }
  return item as RecordCreateItem;
}

/** `client.records`. */
export class RecordsEndpoint extends StudyResource<Record_, RecordField> {
  constructor(ctx: ClientContext) {
    super(ctx, { segment: 'records', idField: 'recordId', schema: RecordSchema, noun: 'record' });
  }

  /**
   * Lists records; `recordDataFilter` filters on the values in `recordData`.
   * @example client.records.list('MYSTUDY', { filter: { formKey: 'AE' }, recordDataFilter: { aeser: 'Y' } })
   */
  override list(studyKey: string, options: RecordListOptions = {}): Paginator<Record_> {
    return listPath(this.ctx, this.pathFor(studyKey), this.spec, options, {}, options.recordDataFilter);
  }

  /**
   * Sends records to the API (register subjects, update scheduled records, create records). The API
   * answers 202 with a batch id; pass it to `jobs.wait` to learn the outcome. Nothing is sent if any
   * item is invalid.
   */
  async create(
    studyKey: string,
    records: readonly RecordCreateItem[],
    options: RecordCreateOptions = {},
  ): Promise<RecordJobStatus> {
    const path = this.pathFor(studyKey);
    if (!Array.isArray(records) || records.length === 0)
      throw new ConfigurationError('records must be a non-empty array');
    const body = records.map(checkItem);
    const headers: Record<string, string> = {};
    if (options.emailNotify !== undefined) {
      const email = options.emailNotify;
      if (typeof email !== 'string' || /[\r\n]/.test(email) || !/^[^\s@]+@[^\s@]+$/.test(email)) {
        throw new ConfigurationError('emailNotify must be one email address with no line breaks');
      }
      headers['x-email-notify'] = email;
    }
    const request: Parameters<ClientContext['transport']['request']>[0] = {
      method: 'POST',
      path,
      json: body,
      headers,
    };
    if (options.signal) request.signal = options.signal;
    const answer = await this.ctx.transport.request(request);
    return parseResponse(RecordJobStatusSchema, answer, 'record POST answer', {
      method: 'POST',
      url: this.ctx.transport.apiRoot + path,
    });
  }
}
