/**
 * Discovery for schedulers: which studies the keys can see, and a plain, JSON-safe description of
 * each, fit for an Airflow XCom, a queue message or a log line.
 */
import { parseApiDate } from '../../core/dates.js';
import { ConfigurationError } from '../../core/errors.js';
import { REDACTED } from '../../core/redact.js';
import type { Study } from '../../endpoints/studies.js';

/**
 * What discovery needs of a client: its studies listing. Any `Imednet` client, with or without
 * plugins, is one.
 * @example const source: StudiesClient = client;
 */
export interface StudiesClient {
  studies: { list(options?: { signal?: AbortSignal }): AsyncIterable<Study> };
}

/**
 * Options of {@link studyKeys} and {@link studyMetadata}.
 * @example { exclude: ['TRAINING', 'SANDBOX'], signal: AbortSignal.timeout(30_000) }
 */
export interface DiscoveryOptions {
  /** Study keys to leave out. */
  exclude?: Iterable<string>;
  /** Stops the listing (`AbortError`). */
  signal?: AbortSignal;
}

/**
 * A JSON value: what survives `JSON.stringify` and comes back the same from `JSON.parse`.
 * @example { studyKey: 'MYSTUDY', sites: [1, 2], locked: false, closedAt: null }
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One study as plain JSON: the fields the studies endpoint sent, under the API's names. Timestamps
 * are ISO 8601 strings in UTC (`2025-06-05T21:12:08.000Z`; a plain date stays `2025-06-05`), fields
 * the API adds later are kept, and a field whose name looks secret (a key, token, password...) is
 * `[REDACTED]`.
 * @example
 * const [first] = await studyMetadata(client);
 * console.log(first?.studyKey, first?.studyName, first?.dateModified);
 */
export interface StudyMetadata {
  studyKey: string;
  studyId?: number;
  studyName?: string;
  sponsorKey?: string | null;
  studyDescription?: string | null;
  studyType?: string | null;
  /** ISO 8601, UTC. */
  dateCreated?: string;
  /** ISO 8601, UTC. */
  dateModified?: string;
  [field: string]: JsonValue | undefined;
}

/**
 * The keys of the studies the client's keys can see, in the API's order, less `exclude`.
 * @example
 * const keys = await studyKeys(client, { exclude: ['TRAINING'] });
 * console.log(`${keys.length} studies: ${keys.join(', ')}`);
 */
export async function studyKeys(client: StudiesClient, options: DiscoveryOptions = {}): Promise<string[]> {
  const keys: string[] = [];
  for await (const study of listStudies(client, options, 'studyKeys')) keys.push(study.studyKey);
  return keys;
}

/**
 * Every study the client's keys can see, less `exclude`, as {@link StudyMetadata}: plain objects
 * with no functions, class instances or `Date`s, and secret-looking fields masked.
 * @example
 * const studies = await studyMetadata(client, { exclude: ['TRAINING'] });
 * console.log(JSON.stringify(studies)); // safe to log or to hand to another process
 */
export async function studyMetadata(
  client: StudiesClient,
  options: DiscoveryOptions = {},
): Promise<StudyMetadata[]> {
  const out: StudyMetadata[] = [];
  for await (const study of listStudies(client, options, 'studyMetadata')) {
    out.push(plainObject(study, new WeakSet()) as StudyMetadata);
  }
  return out;
}

/** Checks what discovery was given; throws `ConfigurationError` naming the problem. */
export function checkDiscovery(client: unknown, options: DiscoveryOptions, caller: string): Set<string> {
  const lister = (client as Partial<StudiesClient> | null | undefined)?.studies?.list;
  if (typeof lister !== 'function') {
    throw new ConfigurationError(`${caller} needs an Imednet client (one with studies.list)`);
  }
  return checkExclude(options.exclude, caller);
}

/** The `exclude` option as a set; throws `ConfigurationError` when it is not strings. */
export function checkExclude(exclude: unknown, caller: string): Set<string> {
  if (exclude === undefined) return new Set();
  if (
    typeof exclude === 'string' ||
    typeof (exclude as Iterable<unknown>)?.[Symbol.iterator] !== 'function'
  ) {
    throw new ConfigurationError(`${caller}: exclude must be a list of study keys`);
  }
  const keys = [...(exclude as Iterable<unknown>)];
  if (!keys.every((key) => typeof key === 'string')) {
    throw new ConfigurationError(`${caller}: exclude must be a list of study keys`);
  }
  return new Set(keys as string[]);
}

async function* listStudies(
  client: StudiesClient,
  options: DiscoveryOptions,
  caller: string,
): AsyncGenerator<Study> {
  const excluded = checkDiscovery(client, options, caller);
  const seen = new Set<string>();
  const listOptions = options.signal ? { signal: options.signal } : {};
  for await (const study of client.studies.list(listOptions)) {
    // A study created while the pages are read can shift one into the next page twice.
    if (excluded.has(study.studyKey) || seen.has(study.studyKey)) continue;
    seen.add(study.studyKey);
    yield study;
  }
}

// Field names that hold credentials whatever the API calls them: api/security/secret/access/
// private keys, tokens, passwords, credentials, authorization and cookies. `studyKey` and
// `sponsorKey` are names, not secrets, and do not match.
const SECRET_FIELD =
  /(api|security|secret|access|private|signing|client)key|secret|token|passw(or)?d|passphrase|credential|authori[sz]ation|cookie/;
// A field named as a date (`dateCreated`, `startDate`, `lockedAt`) holding a timestamp with a time.
const DATE_FIELD = /^date([A-Z_]|$)|Date$|At$/;
const HAS_TIME = /^\d{4}-\d{2}-\d{2}[ T]\d/;
const MAX_DEPTH = 16;

/**
 * Whether a field name looks like it holds a secret (an API, security, secret or access key, a
 * token, a password, credentials, authorization, a cookie): {@link studyMetadata} masks those.
 * @example isSecretField('x-api-key') // true; isSecretField('sponsorKey') // false
 */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name.toLowerCase().replace(/[^a-z]/g, ''));
}

function plainObject(source: object, seen: WeakSet<object>, depth = 0): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  seen.add(source);
  for (const [key, value] of Object.entries(source)) {
    if (isSecretField(key)) {
      if (value !== undefined) out[key] = REDACTED;
      continue;
    }
    const plain =
      typeof value === 'string' && DATE_FIELD.test(key) && HAS_TIME.test(value)
        ? (parseApiDate(value)?.toISOString() ?? value)
        : toJson(value, seen, depth + 1);
    if (plain !== undefined) out[key] = plain;
  }
  seen.delete(source);
  return out;
}

/** A value as JSON; undefined for what JSON leaves out (functions, symbols, class instances, cycles). */
function toJson(value: unknown, seen: WeakSet<object>, depth: number): JsonValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value.toString();
    case 'object': {
      if (value === null) return null;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      if (seen.has(value) || depth > MAX_DEPTH) return undefined;
      if (Array.isArray(value)) {
        seen.add(value);
        const items = value.map((item) => toJson(item, seen, depth + 1) ?? null);
        seen.delete(value);
        return items;
      }
      const proto = Object.getPrototypeOf(value);
      // A class instance may hold anything (a client, a socket): left out rather than guessed at.
      if (proto !== Object.prototype && proto !== null) return undefined;
      return plainObject(value, seen, depth);
    }
    default:
      return undefined;
  }
}
