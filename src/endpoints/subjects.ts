/** Subjects of a study. */
import * as v from 'valibot';
import type { ClientContext } from '../core/context.js';
import { bool, KeywordSchema, num, text } from './fields.js';
import { StudyResource } from './resource.js';

/** A subject. */
export const SubjectSchema = v.looseObject({
  studyKey: text(),
  subjectId: num(),
  subjectOid: text(),
  subjectKey: text(),
  subjectStatus: text(),
  siteId: num(),
  siteName: text(),
  deleted: bool(),
  enrollmentStartDate: text(),
  dateCreated: text(),
  dateModified: text(),
  keywords: v.nullish(v.array(KeywordSchema)),
});
/** A subject. */
export type Subject = v.InferOutput<typeof SubjectSchema>;

/** `client.subjects`: `get` takes a subject key (string) or a subject id (number). */
export class SubjectsEndpoint extends StudyResource<Subject> {
  constructor(ctx: ClientContext) {
    super(ctx, {
      segment: 'subjects',
      idField: 'subjectKey',
      numericIdField: 'subjectId',
      schema: SubjectSchema,
      noun: 'subject',
    });
  }
}
