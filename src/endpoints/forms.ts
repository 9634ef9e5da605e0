/** Forms (eCRFs) of a study. */
import * as v from 'valibot';
import { bool, num, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/** A form (eCRF definition). */
export const FormSchema = v.looseObject({
  studyKey: text(),
  formId: num(),
  formKey: text(),
  formName: text(),
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
  dateCreated: text(),
  dateModified: text(),
});
/** A form (eCRF definition). */
export type Form = v.InferOutput<typeof FormSchema>;

/** `client.forms`. */
export type FormsEndpoint = StudyResource<Form>;

/** Where `client.forms` lives and how `get` finds one. */
export const formsSpec: ResourceSpec<Form> = {
  segment: 'forms',
  idField: 'formId',
  schema: FormSchema,
  noun: 'form',
};
