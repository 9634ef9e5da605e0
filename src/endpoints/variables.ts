/** Variables (questions/fields) of a study's forms. */
import * as v from 'valibot';
import type { ClientContext } from '../core/context.js';
import { bool, num, text } from './fields.js';
import { StudyResource } from './resource.js';

/** A variable (a field on a form). */
export const VariableSchema = v.looseObject({
  studyKey: text(),
  variableId: num(),
  variableType: text(),
  variableName: text(),
  sequence: num(),
  revision: num(),
  disabled: bool(),
  dateCreated: text(),
  dateModified: text(),
  formId: num(),
  variableOid: text(),
  deleted: bool(),
  formKey: text(),
  formName: text(),
  label: text(),
  blinded: bool(),
});
/** A variable (a field on a form). */
export type Variable = v.InferOutput<typeof VariableSchema>;

/** `client.variables`. */
export class VariablesEndpoint extends StudyResource<Variable> {
  constructor(ctx: ClientContext) {
    super(ctx, { segment: 'variables', idField: 'variableId', schema: VariableSchema, noun: 'variable' });
  }
}
