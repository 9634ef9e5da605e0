/** Forms (eCRFs) of a study. */
import * as v from 'valibot';
import type { ClientContext } from '../core/context.js';
import { bool, num, text } from './fields.js';
import { StudyResource } from './resource.js';

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
export class FormsEndpoint extends StudyResource<Form> {
  constructor(ctx: ClientContext) {
    super(ctx, { segment: 'forms', idField: 'formId', schema: FormSchema, noun: 'form' });
  }
}
