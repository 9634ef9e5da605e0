/** Record revisions: the audit trail of every record change. */
import * as v from 'valibot';
import type { ClientContext } from '../core/context.js';
import { bool, num, text } from './fields.js';
import { StudyResource } from './resource.js';

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
export class RecordRevisionsEndpoint extends StudyResource<RecordRevision> {
  constructor(ctx: ClientContext) {
    super(ctx, {
      segment: 'recordRevisions',
      idField: 'recordRevisionId',
      schema: RecordRevisionSchema,
      noun: 'record revision',
    });
  }
}
