// The API's filter grammar, parsed strictly: the mock should refuse anything the live API would,
// so that an SDK bug in rendering shows up as a 400 in tests rather than in production.
//
//   expression := term ((';' | ',') term)*      ';' is AND, ',' is OR, AND binds tighter
//   term       := attribute operator value       no white space around the operator
//   value      := '"' (escaped | plain)* '"'     only \" and \\ escapes
//               | bare                           one or more characters other than ; , "

/** A comparison operator of the grammar. */
export type FilterOperator = '==' | '!=' | '<' | '<=' | '>' | '>=' | '=~';

/** One `attribute operator value` condition. */
export interface FilterTerm {
  attribute: string;
  operator: FilterOperator;
  value: string;
  quoted: boolean;
}

/** A parsed filter: OR of groups, each group an AND of terms. */
export type FilterExpression = FilterTerm[][];

/** A filter the API would reject; `field` names the offending attribute when there is one. */
export class FilterError extends Error {
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super(message);
    this.name = 'FilterError';
    this.field = field;
  }
}

/** Options of {@link parseFilter}. */
export interface ParseFilterOptions {
  /** Whether `=~` (contains) is allowed: only recordDataFilter takes it. */
  allowContains?: boolean;
  /** Known attributes; anything else is rejected. Omit to accept any identifier. */
  attributes?: ReadonlySet<string> | ((name: string) => boolean);
  /** Parameter name used in messages (default 'filter'). */
  param?: string;
}

const ATTRIBUTE_START = /[A-Za-z_]/;
const ATTRIBUTE_PART = /[A-Za-z0-9_]/;
const WHITE_SPACE = /\s/;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses filter text, throwing {@link FilterError} on anything the API would answer 400 to. */
export function parseFilter(text: string, options: ParseFilterOptions = {}): FilterExpression {
  const param = options.param ?? 'filter';
  const known = options.attributes;
  const isKnown =
    known === undefined ? () => true : typeof known === 'function' ? known : (n: string) => known.has(n);
  const seen = new Set<string>();
  const groups: FilterExpression = [[]];
  let pos = 0;
  const fail = (why: string, field?: string): never => {
    throw new FilterError(`Invalid ${param} at position ${pos}: ${why}`, field);
  };
  if (text.length === 0) fail('empty expression');

  for (;;) {
    const start = pos;
    if (!ATTRIBUTE_START.test(text.charAt(pos))) {
      fail(WHITE_SPACE.test(text.charAt(pos)) ? 'unexpected white space' : 'expected an attribute name');
    }
    while (pos < text.length && ATTRIBUTE_PART.test(text.charAt(pos))) pos++;
    const attribute = text.slice(start, pos);

    const operator = readOperator(text, pos);
    if (operator === undefined) {
      fail(
        WHITE_SPACE.test(text.charAt(pos)) ? 'white space around the operator' : 'expected an operator',
        attribute,
      );
    }
    const op = operator as FilterOperator;
    if (op === '=~' && !options.allowContains)
      fail(`operator =~ is only supported by recordDataFilter`, attribute);
    pos += op.length;

    let value: string;
    let quoted = false;
    if (text.charAt(pos) === '"') {
      quoted = true;
      pos++;
      value = '';
      for (;;) {
        if (pos >= text.length) fail('unterminated quoted value', attribute);
        const c = text.charAt(pos);
        if (c === '"') {
          pos++;
          break;
        }
        if (c === '\\') {
          const next = text.charAt(pos + 1);
          if (next !== '"' && next !== '\\') fail('only \\" and \\\\ may be escaped', attribute);
          value += next;
          pos += 2;
          continue;
        }
        value += c;
        pos++;
      }
      if (pos < text.length && text.charAt(pos) !== ';' && text.charAt(pos) !== ',') {
        fail('unexpected text after a quoted value', attribute);
      }
    } else {
      const from = pos;
      while (pos < text.length && text.charAt(pos) !== ';' && text.charAt(pos) !== ',') {
        if (text.charAt(pos) === '"') fail('a quote inside an unquoted value', attribute);
        pos++;
      }
      value = text.slice(from, pos);
      if (value.length === 0) fail('missing value', attribute);
      if (WHITE_SPACE.test(value.charAt(0))) fail('white space around the operator', attribute);
    }

    if (!isKnown(attribute)) {
      throw new FilterError(`Unknown ${param} attribute '${attribute}'`, attribute);
    }
    if (seen.has(attribute)) {
      throw new FilterError(`${param} attribute '${attribute}' may appear only once`, attribute);
    }
    seen.add(attribute);
    (groups[groups.length - 1] as FilterTerm[]).push({ attribute, operator: op, value, quoted });

    if (pos >= text.length) return groups;
    const separator = text.charAt(pos);
    pos++;
    if (separator === ',') groups.push([]);
    if (pos >= text.length) fail('expression ends with a separator');
  }
}

function readOperator(text: string, pos: number): FilterOperator | undefined {
  const two = text.slice(pos, pos + 2);
  if (two === '==' || two === '!=' || two === '<=' || two === '>=' || two === '=~') return two;
  const one = text.charAt(pos);
  if (one === '<' || one === '>') return one;
  return undefined;
}

// Returns <0, 0, >0, or NaN when the two cannot be ordered. Numbers (and numeric strings) compare
// numerically against numeric filter text, booleans against true/false, all else as strings,
// which orders the API's timestamps correctly.
function compare(actual: unknown, expected: string): number {
  if (typeof actual === 'boolean') {
    if (expected === 'true' || expected === 'false') return Number(actual) - Number(expected === 'true');
    return compareStrings(String(actual), expected);
  }
  if (typeof actual === 'number' || (typeof actual === 'string' && NUMBER.test(actual))) {
    if (NUMBER.test(expected)) return Number(actual) - Number(expected);
  } else if (actual === '' && NUMBER.test(expected)) {
    // A blank answer is no number: it is neither below nor above one.
    return Number.NaN;
  }
  if (typeof actual === 'object') return Number.NaN;
  return compareStrings(String(actual), expected);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether one value satisfies one term; null or absent values only equal the bare word null. */
export function matchesTerm(actual: unknown, term: FilterTerm): boolean {
  if (actual === null || actual === undefined) {
    const isNull = term.value === 'null' && !term.quoted;
    if (term.operator === '==') return isNull;
    if (term.operator === '!=') return !isNull;
    return false;
  }
  if (term.operator === '=~') return String(actual).toLowerCase().includes(term.value.toLowerCase());
  const c = compare(actual, term.value);
  if (Number.isNaN(c)) return term.operator === '!=';
  switch (term.operator) {
    case '==':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

/** Whether an item satisfies a parsed filter. */
export function matchesFilter(
  expression: FilterExpression,
  item: Readonly<Record<string, unknown>>,
): boolean {
  for (const group of expression) {
    let all = true;
    for (const term of group) {
      if (!matchesTerm(item[term.attribute], term)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/** Parses filter text once and returns a predicate over items. */
export function compileFilter(
  text: string,
  options: ParseFilterOptions = {},
): (item: Readonly<Record<string, unknown>>) => boolean {
  const expression = parseFilter(text, options);
  return (item) => matchesFilter(expression, item);
}
