/**
 * The API's timestamps are `YYYY-MM-DD HH:mm:ss` strings with no zone (UTC by convention), plain
 * `YYYY-MM-DD` dates, and for user roles 7-integer arrays `[y, m, d, h, mi, s, ns]`. Schemas keep
 * them as the API sent them; these helpers turn them into `Date` when a caller wants one.
 */

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?Z?$/;

/** Formats a `Date` as the API's `YYYY-MM-DD HH:mm:ss` (UTC). */
export function formatApiTimestamp(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('Invalid Date cannot be formatted');
  // toISOString is always UTC with a 4-digit year for the dates a study holds.
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Parses an API timestamp (`YYYY-MM-DD HH:mm:ss`, `YYYY-MM-DD`) or a role date array to a `Date`
 * in UTC. Returns `undefined` for an absent value or one it cannot read, never a made-up date.
 * @example parseApiDate('2025-06-05 21:12:08') // 2025-06-05T21:12:08.000Z
 */
export function parseApiDate(value: string | readonly number[] | null | undefined): Date | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) {
    const [y, mo, d, h = 0, mi = 0, s = 0, ns = 0] = value as readonly number[];
    if (![y, mo, d].every((n) => Number.isInteger(n))) return undefined;
    return checked(y!, mo!, d!, h, mi, s, Math.floor(ns / 1e6));
  }
  const m = TIMESTAMP.exec(String(value).trim());
  if (!m) return undefined;
  const fraction = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  return checked(+m[1]!, +m[2]!, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), fraction);
}

function checked(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number) {
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  // Date.UTC rolls 2025-02-31 over into March; a value that does not round-trip was not a real date.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d)
    return undefined;
  return date;
}
