/**
 * Date bounds the workflows take (`from` / `to`), read once for all of them: a `Date`, an ISO 8601
 * date or instant, or the API's `YYYY-MM-DD HH:mm:ss` (UTC). Anything else is refused rather than
 * guessed at.
 */
import { parseApiDate } from '../../core/dates.js';
import { ConfigurationError } from '../../core/errors.js';

/** A date bound: a `Date`, an ISO 8601 string or the API's `YYYY-MM-DD HH:mm:ss` (UTC). */
export type DateInput = Date | string;

/** An inclusive range of dates; either end may be left open. */
export interface DateRange {
  /** The earliest instant included. */
  from?: DateInput;
  /** The latest instant included; a date with no time takes in that whole day. */
  to?: DateInput;
}

const SECOND_MS = 1000;
const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?[+-]\d{2}:\d{2}$/;

/** Reads one bound as epoch milliseconds; `what` names it in the error (e.g. `auditTrail: from`). */
export function readBound(value: DateInput, bound: 'from' | 'to', what: string): number {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ConfigurationError(`${what} is an invalid Date`);
    return value.getTime();
  }
  if (typeof value !== 'string') throw new ConfigurationError(`${what} must be a Date or a date string`);
  const text = value.trim();
  const plain = parseApiDate(text);
  if (plain !== undefined) {
    // A day without a time is the whole day for `to`, or "up to 31 January" would miss the 31st.
    return bound === 'to' && DATE_ONLY.test(text) ? plain.getTime() + DAY_MS - 1 : plain.getTime();
  }
  if (ISO_WITH_OFFSET.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  throw new ConfigurationError(
    `${what} must be an ISO date (YYYY-MM-DD, YYYY-MM-DDTHH:mm:ssZ) or YYYY-MM-DD HH:mm:ss (got ${JSON.stringify(text.slice(0, 40))})`,
  );
}

/**
 * Reads a range, checked in order. The API's timestamps have whole seconds, so `from` inside a
 * second starts at the next one and `to` inside a second ends with it.
 */
export function readRange(range: DateRange, what: string): { from?: Date; to?: Date } {
  if (typeof range !== 'object' || range === null) {
    throw new ConfigurationError(`${what} must be an object { from?, to? }`);
  }
  const from =
    range.from === undefined
      ? undefined
      : Math.ceil(readBound(range.from, 'from', `${what}: from`) / SECOND_MS) * SECOND_MS;
  const to =
    range.to === undefined
      ? undefined
      : Math.floor(readBound(range.to, 'to', `${what}: to`) / SECOND_MS) * SECOND_MS;
  if (from !== undefined && to !== undefined && from > to)
    throw new ConfigurationError(`${what}: from is after to`);
  return {
    ...(from !== undefined ? { from: new Date(from) } : {}),
    ...(to !== undefined ? { to: new Date(to) } : {}),
  };
}
