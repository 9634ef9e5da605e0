/** Studies the API key can see. */
import * as v from 'valibot';
import type { ClientContext } from '../core/context.js';
import type { Paginator } from '../core/pagination.js';
import { pathSegment } from '../core/validate.js';
import { type FieldsOf, sentNum, sentText, text } from './fields.js';
import { findById, type GetOptions, type ListOptions, listPath } from './resource.js';

/**
 * A study.
 * Always sent (non-null, checked): `studyKey`, `studyId`, `studyName`, `dateCreated`, `dateModified`; the other fields may be absent or null.
 */
export const StudySchema = v.looseObject({
  sponsorKey: text(),
  studyKey: sentText(),
  studyId: sentNum(),
  studyName: sentText(),
  studyDescription: text(),
  studyType: text(),
  dateCreated: sentText(),
  dateModified: sentText(),
});
/** A study. */
export type Study = v.InferOutput<typeof StudySchema>;
/** The study fields `filter` and `sort` can name. */
export type StudyField = FieldsOf<typeof StudySchema>;

const spec = { schema: StudySchema, noun: 'study', idField: 'studyKey' };

/** `client.studies`: the studies your keys can see. */
export class StudiesEndpoint {
  readonly #ctx: ClientContext;
  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  /** Lists studies. */
  list(options: ListOptions<StudyField> = {}): Paginator<Study> {
    return listPath(this.#ctx, '/studies', spec, options);
  }

  /**
   * Fetches one study by its key; throws `NotFoundError` when the keys cannot see it and
   * `ResponseValidationError` when the API answers another study.
   */
  async get(studyKey: string, options: GetOptions = {}): Promise<Study> {
    pathSegment(studyKey, 'studyKey');
    const listOptions: ListOptions<StudyField> = { filter: { studyKey }, pageSize: 1, concurrency: 1 };
    if (options.signal) listOptions.signal = options.signal;
    return findById(this.list(listOptions), 'study', 'studyKey', studyKey);
  }
}
