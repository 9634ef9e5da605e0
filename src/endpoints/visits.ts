/** Visits (subject visit instances) of a study. */
import * as v from 'valibot';
import { bool, num, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/** A visit (one subject's instance of an interval). */
export const VisitSchema = v.looseObject({
  studyKey: text(),
  visitId: num(),
  intervalId: num(),
  intervalName: text(),
  subjectId: num(),
  subjectKey: text(),
  startDate: text(),
  endDate: text(),
  dueDate: text(),
  visitDate: text(),
  visitDateForm: text(),
  visitDateQuestion: text(),
  deleted: bool(),
  dateCreated: text(),
  dateModified: text(),
});
/** A visit (one subject's instance of an interval). */
export type Visit = v.InferOutput<typeof VisitSchema>;

/** `client.visits`. */
export type VisitsEndpoint = StudyResource<Visit>;

/** Where `client.visits` lives and how `get` finds one. */
export const visitsSpec: ResourceSpec<Visit> = {
  segment: 'visits',
  idField: 'visitId',
  schema: VisitSchema,
  noun: 'visit',
};
