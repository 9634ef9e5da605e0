/** Queries (data clarification annotations) of a study. */
import * as v from 'valibot';
import { bool, num, text } from './fields.js';
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
export type QueriesEndpoint = StudyResource<Query>;

/** Where `client.queries` lives and how `get` finds one. */
export const queriesSpec: ResourceSpec<Query> = {
  segment: 'queries',
  idField: 'annotationId',
  schema: QuerySchema,
  noun: 'query',
};
