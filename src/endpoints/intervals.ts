/** Intervals (visit definitions) of a study. */
import * as v from 'valibot';
import { bool, type FieldsOf, num, sentNum, sentText, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/** A form scheduled in an interval. */
export const IntervalFormSchema = v.looseObject({ formId: num(), formKey: text(), formName: text() });

/**
 * An interval (visit definition).
 * Always sent (non-null, checked): `studyKey`, `intervalId`, `intervalName`, `dateCreated`, `dateModified`; the other fields may be absent or null.
 */
export const IntervalSchema = v.looseObject({
  studyKey: sentText(),
  intervalId: sentNum(),
  intervalName: sentText(),
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
  dateCreated: sentText(),
  dateModified: sentText(),
});
/** An interval (visit definition). */
export type Interval = v.InferOutput<typeof IntervalSchema>;
/** The Interval fields `filter` and `sort` can name. */
export type IntervalField = FieldsOf<typeof IntervalSchema>;

/** `client.intervals`. */
export type IntervalsEndpoint = StudyResource<Interval, IntervalField>;

/** Where `client.intervals` lives and how `get` finds one. */
export const intervalsSpec: ResourceSpec<Interval> = {
  segment: 'intervals',
  idField: 'intervalId',
  schema: IntervalSchema,
  noun: 'interval',
};
