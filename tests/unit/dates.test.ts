import { describe, expect, it } from 'vitest';
import { formatApiTimestamp, parseApiDate } from '../../src/core/dates.js';

describe('API dates', () => {
  it('parses API timestamps and plain dates as UTC', () => {
    expect(parseApiDate('2025-06-05 21:12:08')?.toISOString()).toBe('2025-06-05T21:12:08.000Z');
    expect(parseApiDate('2025-06-05')?.toISOString()).toBe('2025-06-05T00:00:00.000Z');
  });

  it('parses role date arrays including nanoseconds', () => {
    expect(parseApiDate([2025, 6, 5, 21, 12, 7, 625000000])?.toISOString()).toBe('2025-06-05T21:12:07.625Z');
  });

  it('returns undefined, never a made-up date, for absent or impossible values', () => {
    expect(parseApiDate(undefined)).toBeUndefined();
    expect(parseApiDate(null)).toBeUndefined();
    expect(parseApiDate('')).toBeUndefined();
    expect(parseApiDate('yesterday')).toBeUndefined();
    expect(parseApiDate('2025-02-31 00:00:00')).toBeUndefined();
    expect(parseApiDate([2025])).toBeUndefined();
  });

  it('formats a Date as the API timestamp and round-trips', () => {
    const date = new Date('2024-12-31T23:59:58Z');
    expect(formatApiTimestamp(date)).toBe('2024-12-31 23:59:58');
    expect(parseApiDate(formatApiTimestamp(date))?.getTime()).toBe(date.getTime());
  });
});
