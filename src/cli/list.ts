/** `imednet <resource> <studyKey>`: streams a listing to stdout as NDJSON (or JSON). */
import type { Imednet } from '../client.js';
import { ConfigurationError } from '../core/errors.js';
import type { ListOptions } from '../endpoints/resource.js';
import type { StudyField } from '../endpoints/studies.js';
import { writeLine } from './output.js';

/** CLI resource names mapped to client endpoint properties. */
export const RESOURCES = {
  sites: 'sites',
  forms: 'forms',
  intervals: 'intervals',
  visits: 'visits',
  subjects: 'subjects',
  users: 'users',
  variables: 'variables',
  codings: 'codings',
  queries: 'queries',
  'record-revisions': 'recordRevisions',
  records: 'records',
} as const;

/** Options of a CLI listing. */
export interface CliListOptions {
  filter?: string;
  recordDataFilter?: string;
  sort?: string[];
  pageSize?: number;
  limit?: number;
  includeInactive?: boolean;
  format: 'ndjson' | 'json';
}

/**
 * The client property a listing command reads, after checking the command's words: an unknown
 * resource or a missing study key is a `ConfigurationError` (checked before any key is asked for).
 */
export function listingOf(
  resource: string,
  studyKey: string | undefined,
): { property: (typeof RESOURCES)[keyof typeof RESOURCES]; studyKey: string } {
  const property = RESOURCES[resource as keyof typeof RESOURCES];
  if (!property)
    throw new ConfigurationError(
      `Unknown resource "${resource}"; one of: studies, ${Object.keys(RESOURCES).join(', ')}`,
    );
  if (!studyKey)
    throw new ConfigurationError(`${resource} needs a study key: imednet ${resource} <studyKey>`);
  return { property, studyKey };
}

/** Streams a resource of a study (or the studies) to `out`; returns the number of items written. */
export async function listToStream(
  client: Imednet,
  resource: string,
  studyKey: string | undefined,
  options: CliListOptions,
  out: NodeJS.WritableStream & import('node:stream').Writable,
  signal?: AbortSignal,
): Promise<number> {
  const listOptions: ListOptions & { recordDataFilter?: string; includeInactive?: boolean } = {};
  if (options.filter) listOptions.filter = options.filter;
  if (options.sort?.length) listOptions.sort = options.sort;
  if (options.pageSize) listOptions.pageSize = options.pageSize;
  if (signal) listOptions.signal = signal;
  let listing: AsyncIterable<unknown>;
  if (resource === 'studies') {
    // Field names typed on the command line are checked by the API, not by the compiler.
    listing = client.studies.list(listOptions as ListOptions<StudyField>);
  } else {
    const { property, studyKey: key } = listingOf(resource, studyKey);
    if (options.recordDataFilter) {
      if (property !== 'records')
        throw new ConfigurationError('--record-data-filter only applies to records');
      listOptions.recordDataFilter = options.recordDataFilter;
    }
    if (property === 'users') {
      if (options.filter) throw new ConfigurationError('users take no --filter (the API rejects one)');
      if (options.includeInactive) listOptions.includeInactive = true;
    }
    listing = (client[property] as { list: (k: string, o: object) => AsyncIterable<unknown> }).list(
      key,
      listOptions,
    );
  }
  let n = 0;
  if (options.format === 'json') await writeLine(out, '[');
  for await (const item of listing) {
    if (options.limit !== undefined && n >= options.limit) break;
    const text = JSON.stringify(item);
    await writeLine(out, options.format === 'json' ? `${n > 0 ? ',' : ''}${text}` : text);
    n++;
  }
  if (options.format === 'json') await writeLine(out, ']');
  return n;
}
