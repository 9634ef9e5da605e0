/** Intervals (visit definitions) of a study. */
import * as v from 'valibot';
import { bool, num, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/** A form scheduled in an interval. */
export const IntervalFormSchema = v.looseObject({ formId: num(), formKey: text(), formName: text() });

/** An interval (visit definition). */
export const IntervalSchema = v.looseObject({
  studyKey: text(),
  intervalId: num(),
  intervalName: text(),
  intervalDescription: text(),
  intervalSequence: num(),
  intervalGroupId: num(),
  intervalGroupName: text(),
  timeline: text(),
  definedUsingInterval: text(),
  windowCalculationForm: text(),
  windowCalculationDate: text(),
  actualDateForm: text(),
  actualDate: text(),
  dueDateWillBeIn: num(),
  negativeSlack: num(),
  positiveSlack: num(),
  eproGracePeriod: num(),
  forms: v.nullish(v.array(IntervalFormSchema)),
  disabled: bool(),
  dateCreated: text(),
  dateModified: text(),
});
/** An interval (visit definition). */
export type Interval = v.InferOutput<typeof IntervalSchema>;

/** `client.intervals`. */
export type IntervalsEndpoint = StudyResource<Interval>;

/** Where `client.intervals` lives and how `get` finds one. */
export const intervalsSpec: ResourceSpec<Interval> = {
  segment: 'intervals',
  idField: 'intervalId',
  schema: IntervalSchema,
  noun: 'interval',
};
