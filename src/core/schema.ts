/**
 * Response validation with valibot. Failures become `ResponseValidationError` whose issues name
 * the path and the expected type but never copy the offending value (it may be patient data).
 */
import * as v from 'valibot';
import { type RequestInfo, ResponseValidationError, type ValidationIssue } from './errors.js';
import { fastCheck } from './fast-check.js';

/** A valibot schema of any output type. */
export type AnySchema<T = unknown> = v.GenericSchema<unknown, T>;

/**
 * Parses `value` with `schema`; throws `ResponseValidationError` listing at most 20 issues. A value
 * that passes the schema's in-place check (fast-check.ts) is returned as it is, without a copy.
 */
export function parseResponse<T>(
  schema: AnySchema<T>,
  value: unknown,
  what: string,
  info: RequestInfo = {},
): T {
  if (fastCheck(schema)?.(value)) return value as T;
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const issues = result.issues.slice(0, 20).map(describeIssue);
  const first = issues[0];
  const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more)` : '';
  throw new ResponseValidationError(
    `The API's ${what} did not match its schema: ${first?.path || '(root)'}: ${first?.message}${more}`,
    issues,
    info,
  );
}

function describeIssue(issue: v.BaseIssue<unknown>): ValidationIssue {
  const path = (issue.path ?? []).map((item) => String(item.key)).join('.');
  const received = issue.input === null ? 'null' : Array.isArray(issue.input) ? 'array' : typeof issue.input;
  return { path, message: `expected ${issue.expected ?? 'a valid value'}, received ${received}` };
}
