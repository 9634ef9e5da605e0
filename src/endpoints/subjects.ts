/** Subjects of a study. */
import * as v from 'valibot';
import { bool, KeywordSchema, num, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

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
export type SubjectsEndpoint = StudyResource<Subject>;

/** Where `client.subjects` lives and how `get` finds one. */
export const subjectsSpec: ResourceSpec<Subject> = {
  segment: 'subjects',
  idField: 'subjectKey',
  numericIdField: 'subjectId',
  schema: SubjectSchema,
  noun: 'subject',
};
