/** Medical codings (MedDRA, WHODrug, ...) of a study. */
import * as v from 'valibot';
import { type FieldsOf, num, sentNum, sentText, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/**
 * A coding of one recorded value.
 * Always sent (non-null, checked): `studyKey`, `recordId`, `codingId`; the other fields may be absent or null.
 */
export const CodingSchema = v.looseObject({
  studyKey: sentText(),
  siteName: text(),
  siteId: num(),
  subjectId: num(),
  subjectKey: text(),
  formId: num(),
  formName: text(),
  formKey: text(),
  revision: num(),
  recordId: sentNum(),
  variable: text(),
  value: text(),
  codingId: sentNum(),
  code: text(),
  codedBy: text(),
  reason: text(),
  dictionaryName: text(),
  dictionaryVersion: text(),
  dateCoded: text(),
});
/** A coding of one recorded value. */
export type Coding = v.InferOutput<typeof CodingSchema>;
/** The Coding fields `filter` and `sort` can name. */
export type CodingField = FieldsOf<typeof CodingSchema>;

/** `client.codings`. */
export type CodingsEndpoint = StudyResource<Coding, CodingField>;

/** Where `client.codings` lives and how `get` finds one. */
export const codingsSpec: ResourceSpec<Coding> = {
  segment: 'codings',
  idField: 'codingId',
  schema: CodingSchema,
  noun: 'coding',
};
