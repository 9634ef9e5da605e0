/** Record revisions: the audit trail of every record change. */
import * as v from 'valibot';
import { bool, num, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/** One revision of a record. */
export const RecordRevisionSchema = v.looseObject({
  studyKey: text(),
  recordRevisionId: num(),
  recordId: num(),
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
  dateCreated: text(),
});
/** One revision of a record. */
export type RecordRevision = v.InferOutput<typeof RecordRevisionSchema>;

/** `client.recordRevisions`. */
export type RecordRevisionsEndpoint = StudyResource<RecordRevision>;

/** Where `client.recordRevisions` lives and how `get` finds one. */
export const recordRevisionsSpec: ResourceSpec<RecordRevision> = {
  segment: 'recordRevisions',
  idField: 'recordRevisionId',
  schema: RecordRevisionSchema,
  noun: 'record revision',
};
