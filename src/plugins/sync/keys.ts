/**
 * Where the cache keeps things. Each study has its own collections, so counts and scans never touch
 * another study; numeric ids are stored under fixed-width decimal keys, so a key-ordered scan comes
 * out in id order.
 */
import { ConfigurationError } from '../../core/errors.js';

/** Digits of a stored id key: enough for every safe integer. */
export const ID_WIDTH = 16;

/** Every stream the cache keeps. */
export const STREAMS = [
  'records',
  'subjects',
  'visits',
  'queries',
  'forms',
  'variables',
  'intervals',
  'sites',
] as const;
/** A stream the cache keeps. */
export type Stream = (typeof STREAMS)[number];

/** The id field of each stream's items. */
export const ID_FIELDS: Readonly<Record<Stream, string>> = {
  records: 'recordId',
  subjects: 'subjectId',
  visits: 'visitId',
  queries: 'annotationId',
  forms: 'formId',
  variables: 'variableId',
  intervals: 'intervalId',
  sites: 'siteId',
};

/** The collection holding the ledger of every study. */
export const LEDGER_COLLECTION = 'imednet_sync.ledger';

/** A stored id key: the id as zero-padded decimal. */
export function idKey(id: unknown): string {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new ConfigurationError(`Cannot cache an item whose id is ${JSON.stringify(id)}`);
  }
  return String(id).padStart(ID_WIDTH, '0');
}

/**
 * The collection of one stream of one study; `deleted` is the tombstones of deleted records, and
 * `gaps` the page boundaries of a first sync under way that a concurrent deletion could have shifted.
 */
export function collectionOf(studyKey: string, kind: Stream | 'deleted' | 'gaps'): string {
  return `imednet_sync.${encodeURIComponent(studyKey)}.${kind}`;
}

/** The ledger key of a study's stream. */
export function ledgerKey(studyKey: string, stream: string): string {
  return `${encodeURIComponent(studyKey)}/${stream}`;
}

/** Checks a study key given to a cache method. */
export function checkStudyKey(studyKey: unknown): string {
  if (typeof studyKey !== 'string' || studyKey.trim() === '') {
    throw new ConfigurationError('studyKey must be a non-empty string');
  }
  return studyKey;
}
