/**
 * `imednet <resource> <studyKey>`: streams a listing to stdout as NDJSON, JSON, CSV or a table to
 * read on a terminal.
 */

import type { Writable } from 'node:stream';
import type { Imednet } from '../client.js';
import { ConfigurationError } from '../core/errors.js';
import type { ListOptions } from '../endpoints/resource.js';
import type { StudyField } from '../endpoints/studies.js';
import { csvField } from '../plugins/sinks/csv.js';
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
  format: ListFormat;
}

/** The output formats of a listing. */
export const LIST_FORMATS = ['table', 'ndjson', 'json', 'csv'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

/** A cell of the CSV and table formats: nested values (a record's recordData) as JSON. */
const cellText = (value: unknown): string =>
  value === null || value === undefined
    ? ''
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);

/** Quotes a CSV field (RFC 4180), with the formula guard of the CSV sink on text. */
const csvCell = (value: unknown) =>
  csvField(
    cellText(value),
    { name: '', type: typeof value === 'number' ? 'number' : 'text', kind: 'record' },
    true,
  );

/** Rows the table format lays out together: their widths are the columns' for the whole listing. */
const TABLE_SAMPLE = 100;
/** The widest a table column gets; longer cells are cut with `…` (the table is for reading). */
const TABLE_CELL = 40;

/** Writes items as one format or another; `end` closes what the format opened. */
interface ListWriter {
  item(item: Record<string, unknown>): Promise<void>;
  end(): Promise<void>;
}

function writerFor(format: ListFormat, out: Writable): ListWriter {
  let n = 0;
  switch (format) {
    case 'ndjson':
      return { item: (item) => writeLine(out, JSON.stringify(item)), end: async () => undefined };
    case 'json':
      return {
        async item(item) {
          await writeLine(out, `${n++ === 0 ? '[' : ','}${JSON.stringify(item)}`);
        },
        end: () => writeLine(out, n === 0 ? '[]' : ']'),
      };
    case 'csv': {
      // The columns are the first item's; items of one listing share their fields.
      let columns: string[] | undefined;
      return {
        async item(item) {
          if (!columns) {
            columns = Object.keys(item);
            await writeLine(out, `${columns.map(csvCell).join(',')}\r`);
          }
          await writeLine(out, `${columns.map((c) => csvCell(item[c])).join(',')}\r`);
        },
        end: async () => undefined,
      };
    }
    case 'table': {
      const held: Record<string, unknown>[] = [];
      let columns: string[] | undefined;
      let widths: number[] = [];
      const cut = (text: string, width: number) =>
        text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
      const line = (cells: string[]) =>
        writeLine(
          out,
          cells
            .map((cell, i) => cut(cell.replace(/\s+/g, ' '), widths[i]!))
            .join('  ')
            .trimEnd(),
        );
      const layOut = async () => {
        columns = Object.keys(held[0] ?? {});
        widths = columns.map((c) =>
          Math.min(TABLE_CELL, Math.max(c.length, ...held.map((item) => cellText(item[c]).length))),
        );
        await line(columns);
        await line(widths.map((w) => '-'.repeat(w)));
        for (const item of held.splice(0)) await line(columns.map((c) => cellText(item[c])));
      };
      return {
        async item(item) {
          if (columns) return line(columns.map((c) => cellText(item[c])));
          held.push(item);
          if (held.length >= TABLE_SAMPLE) await layOut();
        },
        async end() {
          if (!columns && held.length > 0) await layOut();
        },
      };
    }
  }
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
  const writer = writerFor(options.format, out);
  let n = 0;
  for await (const item of listing) {
    if (options.limit !== undefined && n >= options.limit) break;
    await writer.item(item as Record<string, unknown>);
    n++;
  }
  await writer.end();
  return n;
}
