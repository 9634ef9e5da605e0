/**
 * `imednet/plugins/workflows`: read a study the way data managers do. Records by criteria across
 * subjects, visits and records; the audit trail; open queries and their ages; one subject's data;
 * the study's structure; records as typed rows (the shape the export sinks and DuckDB consume);
 * many jobs polled at once; and chunked pipeline helpers.
 *
 * @example
 * import { Imednet } from 'imednet';
 * import { workflows } from 'imednet/plugins/workflows';
 *
 * const Client = Imednet.plugin(workflows());
 * const client = new Client({ apiKey, securityKey });
 * for await (const batch of client.workflows.rows('MYSTUDY', { forms: ['AE'] })) {
 *   console.log(batch.table.name, batch.rows.length);
 * }
 */
import type { Imednet } from '../../client.js';
import { Extraction, type ExtractOptions, type RecordCriteria } from './extract.js';
import { type MapOptions, mapRecords } from './mapper.js';
import { StructureCache, type StructureOptions, type StudyStructure } from './structure.js';
import { planTables, type RowBatch, type TableOptions, type TableSpec } from './tables.js';

/** Options of the workflows plugin. */
export interface WorkflowsOptions {
  /**
   * How long a study's structure (intervals, forms, variables, sites) is reused, in milliseconds
   * (default 300000, five minutes; 0 fetches it every time).
   * @example workflows({ structureTtl: 60_000 })
   */
  structureTtl?: number;
}

/**
 * Options of `client.workflows.rows`: which records (`criteria`), how the listing runs, and how
 * records become rows.
 * @example { criteria: { site: 'Chicago General Hospital' }, forms: ['AE', 'VS'], header: 'label' }
 */
export interface RowsOptions extends MapOptions, ExtractOptions {
  /** Which records; every record of the selected forms when absent. */
  criteria?: RecordCriteria;
  /** Fetch the study structure again even when the cached copy is fresh. */
  refreshStructure?: boolean;
}

/** `client.workflows`: the workflows, bound to one client. */
export class Workflows {
  readonly #client: Imednet;
  readonly #structures: StructureCache;

  constructor(client: Imednet, options: WorkflowsOptions = {}) {
    this.#client = client;
    this.#structures = new StructureCache(client, options.structureTtl ?? 300_000);
  }

  /**
   * The study's intervals → forms → variables, and its sites: four listings at once, cached for
   * `structureTtl`.
   * @example const { intervals } = await client.workflows.structure('MYSTUDY');
   */
  structure(studyKey: string, options: StructureOptions = {}): Promise<StudyStructure> {
    return this.#structures.get(studyKey, options);
  }

  /** Forgets cached structures: one study's, or every one. */
  clearStructureCache(studyKey?: string): void {
    this.#structures.clear(studyKey);
  }

  /**
   * Records matching criteria across subjects, visits and records, streamed in recordId order;
   * `await extraction.plan()` tells which criteria the server applies and which the client does.
   * @example for await (const r of client.workflows.records('MYSTUDY', { subjectStatus: 'Enrolled', form: 'AE' })) console.log(r.recordId);
   */
  records(studyKey: string, criteria: RecordCriteria = {}, options: ExtractOptions = {}): Extraction {
    return new Extraction(this.#client, studyKey, criteria, options, () =>
      this.structure(studyKey, options.signal ? { signal: options.signal } : {}),
    );
  }

  /**
   * The tables `rows` fills for these options, with their columns, before any record is read.
   * @example const tables = await client.workflows.tables('MYSTUDY', { header: 'label' });
   */
  async tables(
    studyKey: string,
    options: TableOptions & { refreshStructure?: boolean } = {},
  ): Promise<TableSpec[]> {
    const structure = await this.structure(studyKey, {
      ...(options.refreshStructure ? { refresh: true } : {}),
    });
    return planTables(structure, options);
  }

  /**
   * Records as typed rows in batches: one table per form (or one long table), fixed record columns
   * first, then a column per variable. Streams; at most one partly filled batch per table is held.
   * @example
   * for await (const { table, rows } of client.workflows.rows('MYSTUDY', { forms: ['VS'] })) {
   *   for (const row of rows) console.log(row.subjectKey, row.vsdt, row.weight);
   * }
   */
  async *rows(studyKey: string, options: RowsOptions = {}): AsyncGenerator<RowBatch, void, undefined> {
    const structure = await this.structure(studyKey, {
      ...(options.refreshStructure ? { refresh: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // Check the options before any record is asked for.
    planTables(structure, options);
    const criteria: RecordCriteria = { ...options.criteria };
    // Only the selected forms' records are needed: let the server leave the others out.
    if (options.forms && criteria.form === undefined) criteria.form = options.forms;
    const extraction = new Extraction(
      this.#client,
      studyKey,
      criteria,
      {
        ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      async () => structure,
    );
    yield* mapRecords(extraction, structure, options);
  }
}

/**
 * The workflows plugin: adds `client.workflows` (a {@link Workflows}).
 * @example const Client = Imednet.plugin(workflows({ structureTtl: 60_000 }));
 */
export function workflows(options: WorkflowsOptions = {}) {
  return function workflowsPlugin(client: Imednet): { workflows: Workflows } {
    return { workflows: new Workflows(client, options) };
  };
}

export {
  type DateInput,
  type DateRange,
  Extraction,
  type ExtractionPlan,
  type ExtractOptions,
  type OneOrMany,
  type RecordCriteria,
} from './extract.js';
export { convertValue, type MapIssue, type MapOptions, mapRecords, RowMappingError } from './mapper.js';
export {
  fetchStructure,
  type StructureForm,
  type StructureInterval,
  type StructureOptions,
  StudyStructure,
} from './structure.js';
export {
  type CellValue,
  type Column,
  type ColumnType,
  columnType,
  LONG_COLUMNS,
  planTables,
  RECORD_COLUMNS,
  type Row,
  type RowBatch,
  type TableOptions,
  type TableSpec,
} from './tables.js';
