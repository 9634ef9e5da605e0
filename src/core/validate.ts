/** Checks of caller input that must fail before any request is sent. */
import { ConfigurationError } from './errors.js';

// Control characters in a path segment could smuggle text into logs or split a request line.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Checks a value that goes into the URL path (a study key, a batch id) and returns it encoded.
 * Empty values, `.` and `..` (URL resolution drops the one and goes up for the other), `/`, `\`,
 * `..` anywhere and control characters are rejected: they would address another resource than the
 * caller named.
 */
export function pathSegment(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new ConfigurationError(`${what} must be a non-empty string`);
  }
  if (value === '.' || value === '..') {
    throw new ConfigurationError(`${what} must not be "." or ".."`);
  }
  if (value.includes('/') || value.includes('\\') || value.includes('..') || CONTROL.test(value)) {
    throw new ConfigurationError(`${what} must not contain /, \\, .. or control characters`);
  }
  return encodeURIComponent(value);
}

/** Checks the page size: a whole number from 1 to 500 (the API's limit). */
export function checkPageSize(size: unknown): number {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 500) {
    throw new ConfigurationError('pageSize must be a whole number from 1 to 500');
  }
  return size;
}

/** Checks a positive whole number option. */
export function checkPositiveInteger(value: unknown, what: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigurationError(`${what} must be a whole number >= ${min}`);
  }
  return value;
}

/** Checks a non-negative finite number option. */
export function checkNonNegative(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigurationError(`${what} must be a finite number >= 0`);
  }
  return value;
}
