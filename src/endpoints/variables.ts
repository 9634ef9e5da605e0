/** Variables (questions/fields) of a study's forms. */
import * as v from 'valibot';
import { bool, num, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

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
export type VariablesEndpoint = StudyResource<Variable>;

/** Where `client.variables` lives and how `get` finds one. */
export const variablesSpec: ResourceSpec<Variable> = {
  segment: 'variables',
  idField: 'variableId',
  schema: VariableSchema,
  noun: 'variable',
};
