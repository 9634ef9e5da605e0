/** Queries (data clarification annotations) of a study. */
import * as v from 'valibot';
import type { ClientContext } from '../core/context.js';
import { bool, num, text } from './fields.js';
import { StudyResource } from './resource.js';

/** One comment in a query's thread. */
export const QueryCommentSchema = v.looseObject({
  sequence: num(),
  annotationStatus: text(),
  user: text(),
  comment: text(),
  closed: bool(),
  date: text(),
});
/** One comment in a query's thread. */
export type QueryComment = v.InferOutput<typeof QueryCommentSchema>;

/** A query. */
export const QuerySchema = v.looseObject({
  studyKey: text(),
  subjectId: num(),
  subjectOid: text(),
  annotationType: text(),
  annotationId: num(),
  type: text(),
  description: text(),
  recordId: num(),
  variable: text(),
  subjectKey: text(),
  dateCreated: text(),
  dateModified: text(),
  queryComments: v.nullish(v.array(QueryCommentSchema)),
});
/** A query. */
export type Query = v.InferOutput<typeof QuerySchema>;

/** `client.queries`. */
export class QueriesEndpoint extends StudyResource<Query> {
  constructor(ctx: ClientContext) {
    super(ctx, { segment: 'queries', idField: 'annotationId', schema: QuerySchema, noun: 'query' });
  }
}
