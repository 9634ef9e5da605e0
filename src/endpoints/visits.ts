/** Visits (subject visit instances) of a study. */
import * as v from 'valibot';
import { bool, type FieldsOf, sentNum, sentText, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/**
 * A visit (one subject's instance of an interval).
 * Always sent (non-null, checked): `studyKey`, `visitId`, `intervalId`, `subjectId`, `subjectKey`, `dateCreated`, `dateModified`; the other fields may be absent or null.
 */
export const VisitSchema = v.looseObject({
  studyKey: sentText(),
  visitId: sentNum(),
  intervalId: sentNum(),
  intervalName: text(),
  subjectId: sentNum(),
  subjectKey: sentText(),
  startDate: text(),
  endDate: text(),
  dueDate: text(),
  visitDate: text(),
  visitDateForm: text(),
  visitDateQuestion: text(),
  deleted: bool(),
  dateCreated: sentText(),
  dateModified: sentText(),
});
/** A visit (one subject's instance of an interval). */
export type Visit = v.InferOutput<typeof VisitSchema>;
/** The Visit fields `filter` and `sort` can name. */
export type VisitField = FieldsOf<typeof VisitSchema>;

/** `client.visits`. */
export type VisitsEndpoint = StudyResource<Visit, VisitField>;

/** Where `client.visits` lives and how `get` finds one. */
export const visitsSpec: ResourceSpec<Visit> = {
  segment: 'visits',
  idField: 'visitId',
  schema: VisitSchema,
  noun: 'visit',
};
