/** Queries (data clarification annotations) of a study. */
import * as v from 'valibot';
import { bool, type FieldsOf, num, sentNum, sentText, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

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

/**
 * A query.
 * Always sent (non-null, checked): `studyKey`, `annotationId`, `dateCreated`, `dateModified`; the other fields may be absent or null.
 */
export const QuerySchema = v.looseObject({
  studyKey: sentText(),
  subjectId: num(),
  subjectOid: text(),
  annotationType: text(),
  annotationId: sentNum(),
  type: text(),
  description: text(),
  recordId: num(),
  variable: text(),
  subjectKey: text(),
  dateCreated: sentText(),
  dateModified: sentText(),
  queryComments: v.nullish(v.array(QueryCommentSchema)),
});
/** A query. */
export type Query = v.InferOutput<typeof QuerySchema>;
/** The Query fields `filter` and `sort` can name. */
export type QueryField = FieldsOf<typeof QuerySchema>;

/** `client.queries`. */
export type QueriesEndpoint = StudyResource<Query, QueryField>;

/** Where `client.queries` lives and how `get` finds one. */
export const queriesSpec: ResourceSpec<Query> = {
  segment: 'queries',
  idField: 'annotationId',
  schema: QuerySchema,
  noun: 'query',
};
