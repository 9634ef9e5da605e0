/** Subjects of a study. */
import * as v from 'valibot';
import { bool, type FieldsOf, KeywordSchema, sentNum, sentText, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/**
 * A subject.
 * Always sent (non-null, checked): `studyKey`, `subjectId`, `subjectKey`, `siteId`, `dateCreated`, `dateModified`; the other fields may be absent or null.
 */
export const SubjectSchema = v.looseObject({
  studyKey: sentText(),
  subjectId: sentNum(),
  subjectOid: text(),
  subjectKey: sentText(),
  subjectStatus: text(),
  siteId: sentNum(),
  siteName: text(),
  deleted: bool(),
  enrollmentStartDate: text(),
  dateCreated: sentText(),
  dateModified: sentText(),
  keywords: v.nullish(v.array(KeywordSchema)),
});
/** A subject. */
export type Subject = v.InferOutput<typeof SubjectSchema>;
/** The Subject fields `filter` and `sort` can name. */
export type SubjectField = FieldsOf<typeof SubjectSchema>;

/** `client.subjects`: `get` takes a subject key (string) or a subject id (number). */
export type SubjectsEndpoint = StudyResource<Subject, SubjectField>;

/** Where `client.subjects` lives and how `get` finds one. */
export const subjectsSpec: ResourceSpec<Subject> = {
  segment: 'subjects',
  idField: 'subjectKey',
  numericIdField: 'subjectId',
  schema: SubjectSchema,
  noun: 'subject',
};
