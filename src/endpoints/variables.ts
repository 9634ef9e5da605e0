/** Variables (questions/fields) of a study's forms. */
import * as v from 'valibot';
import { bool, type FieldsOf, num, sentNum, sentText, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/**
 * A variable (a field on a form).
 * Always sent (non-null, checked): `studyKey`, `variableId`, `variableName`, `dateCreated`, `dateModified`, `formId`; the other fields may be absent or null.
 */
export const VariableSchema = v.looseObject({
  studyKey: sentText(),
  variableId: sentNum(),
  variableType: text(),
  variableName: sentText(),
  sequence: num(),
  revision: num(),
  disabled: bool(),
  dateCreated: sentText(),
  dateModified: sentText(),
  formId: sentNum(),
  variableOid: text(),
  deleted: bool(),
  formKey: text(),
  formName: text(),
  label: text(),
  blinded: bool(),
});
/** A variable (a field on a form). */
export type Variable = v.InferOutput<typeof VariableSchema>;
/** The Variable fields `filter` and `sort` can name. */
export type VariableField = FieldsOf<typeof VariableSchema>;

/** `client.variables`. */
export type VariablesEndpoint = StudyResource<Variable, VariableField>;

/** Where `client.variables` lives and how `get` finds one. */
export const variablesSpec: ResourceSpec<Variable> = {
  segment: 'variables',
  idField: 'variableId',
  schema: VariableSchema,
  noun: 'variable',
};
