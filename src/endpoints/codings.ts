/** Medical codings (MedDRA, WHODrug, ...) of a study. */
import * as v from 'valibot';
import { num, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/** A coding of one recorded value. */
export const CodingSchema = v.looseObject({
  studyKey: text(),
  siteName: text(),
  siteId: num(),
  subjectId: num(),
  subjectKey: text(),
  formId: num(),
  formName: text(),
  formKey: text(),
  revision: num(),
  recordId: num(),
  variable: text(),
  value: text(),
  codingId: num(),
  code: text(),
  codedBy: text(),
  reason: text(),
  dictionaryName: text(),
  dictionaryVersion: text(),
  dateCoded: text(),
});
/** A coding of one recorded value. */
export type Coding = v.InferOutput<typeof CodingSchema>;

/** `client.codings`. */
export type CodingsEndpoint = StudyResource<Coding>;

/** Where `client.codings` lives and how `get` finds one. */
export const codingsSpec: ResourceSpec<Coding> = {
  segment: 'codings',
  idField: 'codingId',
  schema: CodingSchema,
  noun: 'coding',
};
