/** Record revisions: the audit trail of every record change. */
import * as v from 'valibot';
import { bool, type FieldsOf, num, sentNum, sentText, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/**
 * One revision of a record.
 * Always sent (non-null, checked): `studyKey`, `recordRevisionId`, `recordId`, `dateCreated`; the other fields may be absent or null.
 */
export const RecordRevisionSchema = v.looseObject({
  studyKey: sentText(),
  recordRevisionId: sentNum(),
  recordId: sentNum(),
  recordOid: text(),
  recordRevision: num(),
  dataRevision: num(),
  recordStatus: text(),
  subjectId: num(),
  subjectOid: text(),
  subjectKey: text(),
  siteId: num(),
  formKey: text(),
  intervalId: num(),
  role: text(),
  user: text(),
  reasonForChange: text(),
  deleted: bool(),
  dateCreated: sentText(),
});
/** One revision of a record. */
export type RecordRevision = v.InferOutput<typeof RecordRevisionSchema>;
/** The RecordRevision fields `filter` and `sort` can name. */
export type RecordRevisionField = FieldsOf<typeof RecordRevisionSchema>;

/** `client.recordRevisions`. */
export type RecordRevisionsEndpoint = StudyResource<RecordRevision, RecordRevisionField>;

/** Where `client.recordRevisions` lives and how `get` finds one. */
export const recordRevisionsSpec: ResourceSpec<RecordRevision> = {
  segment: 'recordRevisions',
  idField: 'recordRevisionId',
  schema: RecordRevisionSchema,
  noun: 'record revision',
};
