/** Forms (eCRFs) of a study. */
import * as v from 'valibot';
import { bool, type FieldsOf, num, sentNum, sentText, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/**
 * A form (eCRF definition).
 * Always sent (non-null, checked): `studyKey`, `formId`, `formKey`, `formName`, `dateCreated`, `dateModified`; the other fields may be absent or null.
 */
export const FormSchema = v.looseObject({
  studyKey: sentText(),
  formId: sentNum(),
  formKey: sentText(),
  formName: sentText(),
  formType: text(),
  revision: num(),
  embeddedLog: bool(),
  enforceOwnership: bool(),
  userAgreement: bool(),
  subjectRecordReport: bool(),
  unscheduledVisit: bool(),
  otherForms: bool(),
  eproForm: bool(),
  allowCopy: bool(),
  disabled: bool(),
  dateCreated: sentText(),
  dateModified: sentText(),
});
/** A form (eCRF definition). */
export type Form = v.InferOutput<typeof FormSchema>;
/** The Form fields `filter` and `sort` can name. */
export type FormField = FieldsOf<typeof FormSchema>;

/** `client.forms`. */
export type FormsEndpoint = StudyResource<Form, FormField>;

/** Where `client.forms` lives and how `get` finds one. */
export const formsSpec: ResourceSpec<Form> = {
  segment: 'forms',
  idField: 'formId',
  schema: FormSchema,
  noun: 'form',
};
