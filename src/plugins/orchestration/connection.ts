/**
 * A description of where a client connects, safe to log: the API's origin, whether each key is
 * there, and what is wrong with the settings. Keys are never shown, not even in part: the last
 * characters of a key narrow a guess and would sit in log files for years, and "set" is what a
 * reader of a scheduler's log needs to know.
 */
import { DEFAULT_BASE_URL, normalizeBaseUrl } from '../../core/config.js';
import { ConfigurationError, isConfigurationError } from '../../core/errors.js';

/**
 * The connection settings {@link describeConnection} reads; any other key (a `fetch`, a `logger`)
 * is ignored.
 * @example { apiKey: process.env.IMEDNET_API_KEY, securityKey: process.env.IMEDNET_SECURITY_KEY, baseUrl: process.env.IMEDNET_BASE_URL }
 */
export interface ConnectionSettings {
  apiKey?: string | undefined;
  securityKey?: string | undefined;
  baseUrl?: string | undefined;
}

/**
 * What {@link describeConnection} tells. Holds no key, no user name or password and no path of the
 * base URL (a proxy may carry a token in its path): only the origin.
 * @example
 * const about = describeConnection(client);
 * console.log(about.summary); // 'edc.prod.imednetapi.com (production); API key set; security key set'
 */
export interface ConnectionDescription {
  /** Scheme, host and port of the API, e.g. `https://edc.prod.imednetapi.com`; null when the base URL is invalid. */
  origin: string | null;
  /** Host (and port) of the API; null when the base URL is invalid. */
  host: string | null;
  /** Whether it is the production host. */
  production: boolean;
  /** Whether an API key is given. Never the key. */
  apiKey: 'set' | 'missing';
  /** Whether a security key is given. Never the key. */
  securityKey: 'set' | 'missing';
  /** What would stop a client from being made with these settings (empty when nothing would). */
  problems: string[];
  /** All of it on one line, for a log. */
  summary: string;
}

/**
 * Describes a connection for a log, from a client or from its settings (keys and base URL, such
 * as read from the environment), without any secret in it.
 * @example
 * console.log(describeConnection({ apiKey, securityKey, baseUrl: 'https://edc.prod.imednetapi.com' }).summary);
 * // 'edc.prod.imednetapi.com (production); API key set; security key set'
 */
export function describeConnection(
  source: ConnectionSettings | { readonly baseUrl: string },
): ConnectionDescription {
  const given = readSettings(source);
  const apiKey = given.apiKey ? 'set' : 'missing';
  const securityKey = given.securityKey ? 'set' : 'missing';
  let origin: string | null = null;
  let host: string | null = null;
  let urlProblem: string | undefined;
  try {
    if (given.baseUrl !== undefined && typeof given.baseUrl !== 'string') {
      throw new ConfigurationError('baseUrl must be a string');
    }
    const url = new URL(normalizeBaseUrl(given.baseUrl ?? DEFAULT_BASE_URL));
    origin = url.origin;
    host = url.host;
  } catch (error) {
    // normalizeBaseUrl's messages name the option, never its value.
    urlProblem = isConfigurationError(error) ? error.message : 'baseUrl is not a valid absolute URL';
  }
  const problems = [
    ...(apiKey === 'missing' ? ['apiKey is missing'] : []),
    ...(securityKey === 'missing' ? ['securityKey is missing'] : []),
    ...(urlProblem === undefined ? [] : [urlProblem]),
  ];
  const production = origin === new URL(DEFAULT_BASE_URL).origin;
  const where = host === null ? 'invalid base URL' : production ? `${host} (production)` : host;
  const summary = [where, `API key ${apiKey}`, `security key ${securityKey}`];
  if (urlProblem !== undefined) summary.push(urlProblem);
  return { origin, host, production, apiKey, securityKey, problems, summary: summary.join('; ') };
}

/** What was given: whether each key is there (never the key itself), and the base URL. */
interface Given {
  apiKey: boolean;
  securityKey: boolean;
  baseUrl?: unknown;
}

/** From plain settings, or from a client: a client exists only with both keys. */
function readSettings(source: unknown): Given {
  if (typeof source !== 'object' || source === null) return { apiKey: false, securityKey: false };
  const proto = Object.getPrototypeOf(source);
  const record = source as Record<string, unknown>;
  const settings =
    proto === Object.prototype || proto === null || 'apiKey' in record || 'securityKey' in record;
  const given: Given = settings
    ? { apiKey: present(record.apiKey), securityKey: present(record.securityKey) }
    : // A client: its constructor refused to run without both keys; only its base URL is public.
      { apiKey: true, securityKey: true };
  if (record.baseUrl !== undefined) given.baseUrl = record.baseUrl;
  return given;
}

function present(value: unknown): boolean {
  return typeof value === 'string' && value.trim() !== '';
}
