// The API speaks zone-less UTC timestamps; these helpers keep every conversion in one place.

/** One minute in milliseconds. */
export const MINUTE = 60_000;
/** One day in milliseconds. */
export const DAY = 86_400_000;

// Formatting runs once or twice per generated record, so it avoids Date objects: a cached day
// string plus a two-digit lookup table is several times faster than toISOString() and slicing.
const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => (n < 10 ? `0${n}` : String(n)));
const dayCache = new Map<number, string>();

function dayString(day: number): string {
  let text = dayCache.get(day);
  if (text === undefined) {
    text = new Date(day * DAY).toISOString().slice(0, 10);
    if (dayCache.size > 20_000) dayCache.clear();
    dayCache.set(day, text);
  }
  return text;
}

/** Formats epoch milliseconds as the API's `YYYY-MM-DD HH:mm:ss` (UTC). */
export function formatTimestamp(ms: number): string {
  const day = Math.floor(ms / DAY);
  const seconds = Math.floor((ms - day * DAY) / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds - h * 3600) / 60);
  const s = seconds - h * 3600 - m * 60;
  return `${dayString(day)} ${TWO_DIGITS[h]}:${TWO_DIGITS[m]}:${TWO_DIGITS[s]}`;
}

/** Formats epoch milliseconds as `YYYY-MM-DD` (UTC). */
export function formatDate(ms: number): string {
  return dayString(Math.floor(ms / DAY));
}

/** Formats epoch milliseconds as `HH:mm` (UTC). */
export function formatTime(ms: number): string {
  const minutes = Math.floor((ms - Math.floor(ms / DAY) * DAY) / 60_000);
  return `${TWO_DIGITS[Math.floor(minutes / 60)]}:${TWO_DIGITS[minutes % 60]}`;
}

/** Reads an API timestamp (`YYYY-MM-DD HH:mm:ss`, UTC) back into epoch milliseconds. */
export function parseTimestamp(text: string): number {
  return Date.parse(`${text.slice(0, 10)}T${text.slice(11, 19)}Z`);
}

/** Converts epoch milliseconds to the 7-integer array users' roles carry. */
export function toDateParts(ms: number): number[] {
  const d = new Date(ms);
  return [
    d.getUTCFullYear(),
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds() * 1_000_000,
  ];
}

/** Reads a Date, epoch milliseconds, an API timestamp or an ISO string; throws on nonsense. */
export function toEpochMs(value: Date | number | string): number {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else {
    const apiForm = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value);
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
    ms = apiForm ? parseTimestamp(value) : Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  }
  if (!Number.isFinite(ms)) throw new RangeError(`Not a valid date: ${String(value)}`);
  return ms;
}
