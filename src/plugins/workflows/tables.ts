/**
 * The row shape every consumer of a study's records shares (export sinks, DuckDB, FHIR, the export
 * command): the tables the record mapper fills, their columns and the types of their values. A
 * table's columns are known before its first row, so a sink can write a header or create a table
 * for a form that turns out to have no records.
 */
import { ConfigurationError } from '../../core/errors.js';
import type { Variable } from '../../endpoints/variables.js';
import type { StructureForm, StudyStructure } from './structure.js';

/**
 * The type of a column's values (`null` is always allowed: a blank or absent answer):
 * `integer` and `number` are JS numbers; `boolean`; `date` a `Date` at UTC midnight; `datetime` a
 * `Date` (the API's times are UTC); `time` text `HH:mm` or `HH:mm:ss`; `choice` the option's code
 * as text; `text` text.
 */
export type ColumnType = 'integer' | 'number' | 'boolean' | 'date' | 'datetime' | 'time' | 'choice' | 'text';

/** A value in a row. */
export type CellValue = string | number | boolean | Date | null;

/** A row: column name → value, in column order. */
export type Row = { [column: string]: CellValue };

/** One column of a table. */
export interface Column {
  /** The column's name in the rows: unique in its table, ignoring letter case. */
  name: string;
  /**
   * The name asked for (the variable's name or label, or a fixed column's name) when making the
   * names unique changed it, e.g. `Age` → `Age_2`; absent when `name` is what was asked for.
   */
  requestedName?: string;
  /** Its values' type. */
  type: ColumnType;
  /** `record`: one of the fixed leading columns; `variable`: a variable's value; `choiceLabel`: the label of a choice variable's code. */
  kind: 'record' | 'variable' | 'choiceLabel';
  /** The variable behind a `variable` or `choiceLabel` column. */
  variable?: {
    name: string;
    label: string | undefined;
    /** The type as the API states it, e.g. `RADIO`. */
    type: string | undefined;
    id: number;
  };
}

/** A table: its name, the form it holds (wide layout) and its columns. */
export interface TableSpec {
  /** The form key (wide layout), or `records` (long layout). */
  name: string;
  /** The form whose records the table holds (wide layout). */
  formKey?: string;
  /** The form's name as the API gives it (wide layout). */
  formName?: string;
  /** Columns in order: the fixed record columns first. */
  columns: readonly Column[];
}

/** Up to `batchSize` rows of one table. */
export interface RowBatch {
  /** The table the rows belong to (the same object for every batch of that table). */
  table: TableSpec;
  /** The rows, in recordId order within the table. */
  rows: Row[];
}

/**
 * Options that decide the tables' columns.
 * @example { header: 'label', forms: ['AE', 'VS'], choiceLabels: { aesev: { '1': 'Mild', '2': 'Moderate', '3': 'Severe' } } }
 */
export interface TableOptions {
  /**
   * `wide` (default): one table per form, a column per variable. `long`: one table `records`, a
   * row per value present, with the variable's name, label and the value as the API sent it
   * (text).
   */
  layout?: 'wide' | 'long';
  /** Head variable columns by the variable's `name` (default) or its `label` (the name where there is none). */
  header?: 'name' | 'label';
  /** Only these forms (keys). Unknown keys are an error. */
  forms?: readonly string[];
  /** Only these variables (names), on whichever forms they are. Unknown names are an error. */
  variables?: readonly string[];
  /**
   * `typed` (default) types each value from its variable's type; `text` keeps every value as the
   * API's text (a lossless, untyped copy).
   */
  values?: 'typed' | 'text';
  /**
   * Labels for choice codes, by variable name: each such variable gets a column `<name>_label`
   * after its code (the API does not send option labels; they come from your data dictionary).
   */
  choiceLabels?: { readonly [variableName: string]: { readonly [code: string]: string } };
}

/** The fixed leading columns of every table, in order. */
export const RECORD_COLUMNS: readonly Column[] = [
  { name: 'recordId', type: 'integer', kind: 'record' },
  { name: 'subjectKey', type: 'text', kind: 'record' },
  { name: 'siteId', type: 'integer', kind: 'record' },
  { name: 'siteName', type: 'text', kind: 'record' },
  { name: 'intervalId', type: 'integer', kind: 'record' },
  { name: 'intervalName', type: 'text', kind: 'record' },
  { name: 'visitId', type: 'integer', kind: 'record' },
  { name: 'formKey', type: 'text', kind: 'record' },
  { name: 'recordStatus', type: 'text', kind: 'record' },
  { name: 'dateCreated', type: 'datetime', kind: 'record' },
  { name: 'dateModified', type: 'datetime', kind: 'record' },
  { name: 'deleted', type: 'boolean', kind: 'record' },
];

/** The columns of the long layout after the fixed ones. */
export const LONG_COLUMNS: readonly Column[] = [
  { name: 'variableName', type: 'text', kind: 'record' },
  { name: 'variableLabel', type: 'text', kind: 'record' },
  { name: 'variableType', type: 'text', kind: 'record' },
  { name: 'value', type: 'text', kind: 'record' },
];

/** The column type for an API variable type (anything unknown is text). */
export function columnType(variableType: string | null | undefined): ColumnType {
  switch (variableType?.trim().toUpperCase()) {
    case 'NUMBER':
    case 'DECIMAL':
    case 'FLOAT':
      return 'number';
    case 'INTEGER':
      return 'integer';
    case 'CHECKBOX':
      return 'boolean';
    case 'DATE':
      return 'date';
    case 'DATETIME':
      return 'datetime';
    case 'TIME':
      return 'time';
    case 'RADIO':
    case 'DROPDOWN':
    case 'SELECT':
      return 'choice';
    default:
      return 'text';
  }
}

/**
 * Gives each column a name unique in its table ignoring case (`Age`, `AGE` → `Age`, `AGE_2`),
 * keeping the first as asked and recording the name asked for on each one changed.
 */
function uniqueNames(columns: Column[]): Column[] {
  const taken = new Set<string>();
  return columns.map((column) => {
    let name = column.name;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${column.name}_${n}`;
    taken.add(name.toLowerCase());
    return name === column.name ? column : { ...column, name, requestedName: column.name };
  });
}

function variableColumns(variables: readonly Variable[], options: TableOptions, typed: boolean): Column[] {
  const out: Column[] = [];
  for (const variable of variables) {
    const label = variable.label ?? undefined;
    const info = {
      name: variable.variableName,
      label,
      type: variable.variableType ?? undefined,
      id: variable.variableId,
    };
    const header = options.header === 'label' && label ? label : variable.variableName;
    const type = typed ? columnType(variable.variableType) : 'text';
    out.push({ name: header, type, kind: 'variable', variable: info });
    if (options.choiceLabels?.[variable.variableName]) {
      out.push({ name: `${header}_label`, type: 'text', kind: 'choiceLabel', variable: info });
    }
  }
  return out;
}

/** Checks the options against the study and answers the tables they give, in form order. */
export function planTables(structure: StudyStructure, options: TableOptions = {}): TableSpec[] {
  const layout = options.layout ?? 'wide';
  if (layout !== 'wide' && layout !== 'long') {
    throw new ConfigurationError(`layout must be 'wide' or 'long' (got ${String(layout)})`);
  }
  if (options.header !== undefined && options.header !== 'name' && options.header !== 'label') {
    throw new ConfigurationError(`header must be 'name' or 'label' (got ${String(options.header)})`);
  }
  if (options.values !== undefined && options.values !== 'typed' && options.values !== 'text') {
    throw new ConfigurationError(`values must be 'typed' or 'text' (got ${String(options.values)})`);
  }
  const forms = selectedForms(structure, options);
  const wanted = options.variables ? new Set(options.variables) : undefined;
  if (wanted) {
    const known = new Set(structure.forms.flatMap((f) => f.variables.map((v) => v.variableName)));
    const unknown = [...wanted].filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new ConfigurationError(
        `variables: the study has no variable named ${unknown.map((n) => JSON.stringify(n)).join(', ')}`,
      );
    }
  }
  for (const name of Object.keys(options.choiceLabels ?? {})) {
    const variable = structure.forms.flatMap((f) => f.variables).find((v) => v.variableName === name);
    if (!variable)
      throw new ConfigurationError(`choiceLabels: the study has no variable named ${JSON.stringify(name)}`);
  }
  if (layout === 'long') {
    return [{ name: 'records', columns: uniqueNames([...RECORD_COLUMNS, ...LONG_COLUMNS]) }];
  }
  const typed = options.values !== 'text';
  return forms.map(({ form, variables }) => ({
    name: form.formKey,
    formKey: form.formKey,
    formName: form.formName,
    columns: uniqueNames([
      ...RECORD_COLUMNS,
      ...variableColumns(
        wanted ? variables.filter((v) => wanted.has(v.variableName)) : variables,
        options,
        typed,
      ),
    ]),
  }));
}

/** The forms the options select, in the study's order; an unknown key is an error. */
export function selectedForms(structure: StudyStructure, options: TableOptions): readonly StructureForm[] {
  if (options.forms === undefined) return structure.forms;
  if (!Array.isArray(options.forms) || options.forms.length === 0) {
    throw new ConfigurationError('forms must be a non-empty array of form keys');
  }
  const unknown = options.forms.filter((key) => !structure.form(key));
  if (unknown.length > 0) {
    throw new ConfigurationError(
      `forms: the study has no form ${unknown.map((k) => JSON.stringify(k)).join(', ')}`,
    );
  }
  const keys = new Set(options.forms);
  return structure.forms.filter((f) => keys.has(f.form.formKey));
}
