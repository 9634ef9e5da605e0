/**
 * Rendering of filter objects into the API's filter grammar:
 * `attr==value`, operators `== != < <= > >=` (and `=~` for `recordDataFilter`), `;` for AND,
 * `,` for OR. Values that are not plain words go in double quotes with `\"` and `\\` escaped.
 * Anything that could break the grammar is rejected here, before a request is made.
 */
import { formatApiTimestamp } from './dates.js';
import { ConfigurationError } from './errors.js';

/** A value a filter can compare against. Dates render as the API's `YYYY-MM-DD HH:mm:ss` (UTC). */
export type FilterValue = string | number | boolean | Date;

/**
 * One condition on one attribute: a bare value means equality. `in` (any of several values) is not
 * in the API's grammar: a listing sends one request per value and merges the answers.
 */
export type FilterCondition =
  | FilterValue
  | { in: readonly FilterValue[] }
  | { eq: FilterValue }
  | { ne: FilterValue }
  | { lt: FilterValue }
  | { lte: FilterValue }
  | { gt: FilterValue }
  | { gte: FilterValue }
  | { contains: FilterValue };

/**
 * Conditions joined by AND, on the attributes `F` (a resource's filterable fields; any name when
 * `F` is `string`). Undefined entries are left out, so optional criteria are easy to build.
 */
export type FilterObject<F extends string = string> = { [K in F]?: FilterCondition | undefined };

/**
 * A filter: a raw API string, an object (AND of its entries), or an array of objects (OR of the
 * groups; within a group AND). The API reads AND before OR.
 * @example { formKey: 'AE', deleted: false, dateModified: { gte: new Date('2024-01-01') } }
 */
export type FilterInput<F extends string = string> = string | FilterObject<F> | readonly FilterObject<F>[];

const OPERATORS = { eq: '==', ne: '!=', lt: '<', lte: '<=', gt: '>', gte: '>=', contains: '=~' } as const;
type OperatorName = keyof typeof OPERATORS;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BARE_VALUE = /^[A-Za-z0-9_.-]+$/;
// Control characters (CR/LF, NUL, ...) have no meaning in the grammar and could smuggle lines into logs.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Options for {@link renderFilter}. */
export interface RenderFilterOptions {
  /** Whether `contains` (`=~`) is allowed: only `recordDataFilter` supports it. */
  allowContains?: boolean;
  /** The parameter name, for error messages. */
  param?: string;
}

/**
 * Renders a filter to the API's grammar; `undefined` when there is nothing to filter on.
 * @example renderFilter({ siteId: 3, deleted: false }) // 'siteId==3;deleted==false'
 */
export function renderFilter(
  input: FilterInput | undefined,
  options: RenderFilterOptions = {},
): string | undefined {
  const param = options.param ?? 'filter';
  if (input === undefined || input === null) return undefined;
  if (typeof input === 'string') {
    if (CONTROL.test(input)) throw new ConfigurationError(`${param} contains a control character`);
    return input.length > 0 ? input : undefined;
  }
  const groups = Array.isArray(input) ? input : [input as FilterObject];
  const seen = new Set<string>();
  const rendered: string[] = [];
  for (const group of groups) {
    if (typeof group !== 'object' || group === null || Array.isArray(group)) {
      throw new ConfigurationError(`${param}: each group must be an object`);
    }
    const terms: string[] = [];
    for (const [attribute, condition] of Object.entries(group)) {
      if (condition === undefined) continue;
      if (!IDENTIFIER.test(attribute)) {
        throw new ConfigurationError(`${param}: attribute ${JSON.stringify(attribute)} is not an identifier`);
      }
      if (seen.has(attribute)) {
        throw new ConfigurationError(
          `${param}: attribute "${attribute}" appears more than once (the API allows it once)`,
        );
      }
      seen.add(attribute);
      terms.push(renderTerm(attribute, condition as FilterCondition, param, options.allowContains === true));
    }
    if (terms.length > 0) rendered.push(terms.join(';'));
  }
  return rendered.length > 0 ? rendered.join(',') : undefined;
}

/** Most requests one listing may split into (the product of its `in` lists). */
export const MAX_SPLIT = 50;

/**
 * Splits an object filter with `in` conditions into plain filters, one per combination of values,
 * in the order given (repeated values once); `undefined` when there is no `in`. The API allows an
 * attribute once per filter and has no "in", so each combination becomes a request of its own. The
 * parts never overlap (each item has one value per attribute), so merging them loses or repeats
 * nothing. `in` inside OR groups is refused when rendered: those parts could overlap.
 * @example expandIn({ formKey: { in: ['AE', 'CM'] }, deleted: false }) // [{ formKey: 'AE', deleted: false }, { formKey: 'CM', deleted: false }]
 */
export function expandIn(input: FilterInput | undefined): FilterObject[] | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  let parts: FilterObject[] = [{}];
  let split = false;
  for (const [attribute, condition] of Object.entries(input as FilterObject)) {
    let values: readonly unknown[] = [condition];
    if (isPlainObject(condition) && 'in' in condition) {
      if (!Array.isArray(condition.in) || Object.keys(condition).length > 1) {
        throw new ConfigurationError(`filter: "in" on "${attribute}" must be alone, with an array of values`);
      }
      values = [...new Set(condition.in)];
      split = true;
    }
    parts = parts.flatMap((part) =>
      values.map((value) => ({ ...part, [attribute]: value as FilterCondition })),
    );
    if (parts.length > MAX_SPLIT)
      throw new ConfigurationError(`filter: "in" would send over ${MAX_SPLIT} requests`);
  }
  return split ? parts : undefined;
}

function renderTerm(
  attribute: string,
  condition: FilterCondition,
  param: string,
  allowContains: boolean,
): string {
  if (isPlainObject(condition)) {
    const keys = Object.keys(condition);
    if (keys[0] === 'in') {
      throw new ConfigurationError(
        `${param}: "in" works in one filter object, not in OR groups or recordDataFilter`,
      );
    }
    if (keys.length !== 1 || !(keys[0]! in OPERATORS)) {
      throw new ConfigurationError(
        `${param}: condition on "${attribute}" must have exactly one of ${Object.keys(OPERATORS).join(', ')}`,
      );
    }
    const op = keys[0] as OperatorName;
    if (op === 'contains' && !allowContains) {
      throw new ConfigurationError(`${param}: "contains" is only supported by recordDataFilter`);
    }
    return `${attribute}${OPERATORS[op]}${renderValue((condition as Record<string, FilterValue>)[op], attribute, param)}`;
  }
  return `${attribute}==${renderValue(condition as FilterValue, attribute, param)}`;
}

function renderValue(value: unknown, attribute: string, param: string): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new ConfigurationError(`${param}: value of "${attribute}" is not a finite number`);
    return String(value);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime()))
      throw new ConfigurationError(`${param}: value of "${attribute}" is an invalid Date`);
    return quote(formatApiTimestamp(value));
  }
  if (typeof value === 'string') {
    if (CONTROL.test(value))
      throw new ConfigurationError(`${param}: value of "${attribute}" contains a control character`);
    return BARE_VALUE.test(value) ? value : quote(value);
  }
  throw new ConfigurationError(`${param}: value of "${attribute}" must be a string, number, boolean or Date`);
}

function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Date) && !Array.isArray(value);
}

/**
 * A sort key on one of the fields `F`: `'field'` (ascending), `'-field'` (descending),
 * `'field,desc'` (the API's own form) or `{ field, direction }`.
 */
export type SortInput<F extends string = string> =
  | F
  | `-${F}`
  | `${F},${'asc' | 'desc' | 'ASC' | 'DESC'}`
  | { field: F; direction?: 'asc' | 'desc' };

/**
 * Renders sort keys to the API's repeated `sort=field,asc` parameters.
 * @example renderSort(['-dateModified', 'recordId']) // ['dateModified,desc', 'recordId,asc']
 */
export function renderSort(sort: SortInput | readonly SortInput[] | undefined): string[] {
  if (sort === undefined) return [];
  const list = Array.isArray(sort) ? sort : [sort as SortInput];
  return list.map((entry: SortInput) => {
    let field: string;
    let direction: string;
    if (typeof entry === 'string') {
      const [name, dir] = entry.split(',');
      const desc = name!.startsWith('-');
      field = desc ? name!.slice(1) : name!;
      direction = dir?.toLowerCase() ?? (desc ? 'desc' : 'asc');
    } else {
      field = entry.field;
      direction = entry.direction ?? 'asc';
    }
    if (!IDENTIFIER.test(field))
      throw new ConfigurationError(`sort: ${JSON.stringify(field)} is not a field name`);
    if (direction !== 'asc' && direction !== 'desc') {
      throw new ConfigurationError(`sort: direction for "${field}" must be asc or desc`);
    }
    return `${field},${direction}`;
  });
}
