/**
 * Redaction of credentials from anything the SDK may print or throw.
 * Credentials travel in headers, so URLs normally hold none; query values with a secret-looking
 * name are still masked in case a caller or proxy put one there.
 */

const SECRET_QUERY =
  /^((x-)?(imn-)?(api|security)[_-]?key|(access[_-]?)?token|secret|pass(word|wd)|auth(orization)?)$/i;

/** The mask put in place of a secret. */
export const REDACTED = '[REDACTED]';

/** Returns `url` with the values of secret-looking query parameters masked. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hashAt = url.indexOf('#', q);
  const query = url.slice(q + 1, hashAt < 0 ? undefined : hashAt);
  const parts = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    let name = pair.slice(0, eq);
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      // a malformed escape: compare the raw name
    }
    return SECRET_QUERY.test(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
  });
  return `${url.slice(0, q)}?${parts.join('&')}${hashAt < 0 ? '' : url.slice(hashAt)}`;
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
