/**
 * Redaction of credentials and patient data from anything the SDK may print or throw.
 * Credentials travel in headers, so URLs normally hold none; query values with a secret-looking
 * name are still masked in case a caller or proxy put one there. Filter values (subject keys,
 * clinical values in `recordDataFilter`) are masked unless the caller asks to see them.
 */

const SECRET_QUERY =
  /^((x-)?(imn-)?(api|security)[_-]?key|(access[_-]?)?token|secret|pass(word|wd)|auth(orization)?)$/i;
// Query parameters written in the API's filter grammar: their values may be patient data.
const FILTER_QUERY = /^(filter|recordDataFilter)$/i;
// An operator and the value after it: a quoted value (to its closing quote, or to the end when the
// quote is never closed) or a bare one up to the next `;` or `,`.
const FILTER_VALUE = /(==|!=|<=|>=|=~|<|>)("(?:[^"\\]|\\.)*"?[^;,]*|[^;,]*)/g;

/** The mask put in place of a secret. */
export const REDACTED = '[REDACTED]';
/** The mask put in place of a filter value. */
export const MASKED_VALUE = '***';

/** Options of {@link redactUrl}. */
export interface RedactOptions {
  /** Keep filter values visible (for local debugging). Default false: they are masked. */
  showFilterValues?: boolean;
}

/**
 * Returns `url` with the values of secret-looking query parameters masked, and the values inside
 * `filter` and `recordDataFilter` masked (attribute names and operators stay).
 * @example redactUrl('https://h/x?filter=subjectKey%3D%3D01-001') // 'https://h/x?filter=subjectKey%3D%3D***'
 */
export function redactUrl(url: string, options: RedactOptions = {}): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hashAt = url.indexOf('#', q);
  const query = url.slice(q + 1, hashAt < 0 ? undefined : hashAt);
  const parts = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    const rawName = pair.slice(0, eq);
    const name = decode(rawName);
    if (SECRET_QUERY.test(name)) return `${rawName}=${REDACTED}`;
    if (!options.showFilterValues && FILTER_QUERY.test(name)) {
      return `${rawName}=${encodeURIComponent(maskFilterValues(decode(pair.slice(eq + 1))))}`;
    }
    return pair;
  });
  return `${url.slice(0, q)}?${parts.join('&')}${hashAt < 0 ? '' : url.slice(hashAt)}`;
}

/**
 * Masks every value in a filter written in the API's grammar; attribute names, operators and the
 * `;`/`,` joins stay, which is what a reader needs to debug a filter.
 * @example maskFilterValues('subjectKey=="01-001";deleted==false') // 'subjectKey==***;deleted==***'
 */
export function maskFilterValues(filter: string): string {
  return filter.replace(FILTER_VALUE, `$1${MASKED_VALUE}`);
}

/**
 * Removes every occurrence of the given secrets from a text (for messages built from server or
 * network error text, which could echo a header back).
 */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

// A query component as a reader sees it; a malformed escape is compared raw.
function decode(component: string): string {
  try {
    return decodeURIComponent(component.replace(/\+/g, ' '));
  } catch {
    return component;
  }
}
