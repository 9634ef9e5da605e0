/**
 * Key-range arithmetic for prefix scans. A prefix scan is the half-open range [prefix, end) where
 * `end` is the smallest string greater than every string that starts with `prefix`. Range bounds
 * (unlike SQL LIKE or per-row `startsWith` filters in the store) use the index and treat `%` and `_`
 * as plain characters.
 *
 * Two orders matter: JavaScript and IndexedDB compare UTF-16 code units; SQLite compares UTF-8 bytes,
 * which is code-point order. They differ only where a code point at or above U+10000 meets one in
 * U+E000–U+FFFF at the same position, so each store computes `end` in its own order.
 */

/** End of the prefix range in UTF-16 code-unit order, or undefined when no string bounds it. */
export function prefixEndByCodeUnit(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const unit = prefix.charCodeAt(i);
    if (unit < 0xffff) return prefix.slice(0, i) + String.fromCharCode(unit + 1);
  }
  return undefined;
}

/** End of the prefix range in code-point (UTF-8 byte) order, or undefined when no string bounds it. */
export function prefixEndByCodePoint(prefix: string): string | undefined {
  const points = Array.from(prefix, (char) => char.codePointAt(0)!);
  for (let i = points.length - 1; i >= 0; i--) {
    let next = points[i]! + 1;
    // Surrogate code points cannot travel as UTF-8 text; the next real one is U+E000.
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return String.fromCodePoint(...points.slice(0, i), next);
  }
  return undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `text` has an unpaired surrogate, which a UTF-8 store would silently replace with U+FFFD. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}
