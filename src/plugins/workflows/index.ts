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
import type { RecordRevision } from '../../endpoints/record-revisions.js';
import { type AuditTrailOptions, auditTrail } from './audit.js';
import { Extraction, type ExtractOptions, type RecordCriteria } from './extract.js';
import { type JobsSummary, type PollJobsOptions, pollJobs } from './jobs.js';
import { type MapOptions, mapRecords } from './mapper.js';
import {
  openQueries,
  type QueryCountOptions,
  type QueryCounts,
  type QueryStatus,
  type QueryStreamOptions,
  queryCounts,
  type SiteSelector,
  type SubjectQueryOptions,
  siteQueries,
  subjectQueries,
} from './queries.js';
import { StructureCache, type StructureOptions, type StudyStructure } from './structure.js';
import { type SubjectData, type SubjectDataOptions, subjectData } from './subject.js';
import { type SubjectTree, type SubjectTreeOptions, subjectTree } from './subject-tree.js';
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
    yield* mapRecords(extraction.chunks(), structure, options);
  }

  /**
   * Record revisions made between two dates (both inclusive), by a user, on a record, subject or
   * form, oldest first; streamed.
   * @example for await (const rev of client.workflows.auditTrail('MYSTUDY', { from: '2025-01-01', to: '2025-01-31', user: 'jdoe' })) console.log(rev.recordId);
   */
  auditTrail(
    studyKey: string,
    options: AuditTrailOptions = {},
  ): AsyncGenerator<RecordRevision, void, undefined> {
    return auditTrail(this.#client, studyKey, options);
  }

  /**
   * Queries whose latest comment (highest `sequence`) is not closed — open or answered — with
   * their state and age in days; streamed.
   * @example for await (const { query, state, ageDays } of client.workflows.openQueries('MYSTUDY')) console.log(query.annotationId, state, ageDays);
   */
  openQueries(
    studyKey: string,
    options: QueryStreamOptions = {},
  ): AsyncGenerator<QueryStatus, void, undefined> {
    return openQueries(this.#client, studyKey, options);
  }

  /**
   * Every query of one subject, with its state and age; streamed.
   * @example for await (const q of client.workflows.subjectQueries('MYSTUDY', '01-001')) console.log(q.state);
   */
  subjectQueries(
    studyKey: string,
    subjectKey: string,
    options: SubjectQueryOptions = {},
  ): AsyncGenerator<QueryStatus, void, undefined> {
    return subjectQueries(this.#client, studyKey, subjectKey, options);
  }

  /**
   * Every query of one site's subjects, with its state and age: one listing of the site's subjects,
   * then one pass over the study's queries (no filter naming every subject); streamed.
   * @example for await (const q of client.workflows.siteQueries('MYSTUDY', { siteName: 'Chicago General Hospital' })) console.log(q.query.subjectKey);
   */
  siteQueries(
    studyKey: string,
    site: SiteSelector,
    options: QueryStreamOptions = {},
  ): AsyncGenerator<QueryStatus, void, undefined> {
    return siteQueries(this.#client, studyKey, site, options);
  }

  /**
   * How many queries are open, answered, closed and without comments: one streamed pass.
   * @example const { open, answered, closed, noComments, total } = await client.workflows.queryCounts('MYSTUDY');
   */
  queryCounts(studyKey: string, options: QueryCountOptions = {}): Promise<QueryCounts> {
    return queryCounts(this.#client, studyKey, options);
  }

  /**
   * One subject's details, visits, records and queries, the four fetched at once.
   * @example const { subject, visits, records, queries } = await client.workflows.subjectData('MYSTUDY', '01-001');
   */
  subjectData(studyKey: string, subjectKey: string, options: SubjectDataOptions = {}): Promise<SubjectData> {
    return subjectData(this.#client, studyKey, subjectKey, options);
  }

  /**
   * One subject as a tree: visits in interval order, each with its forms and their records as
   * rows (mapped as `rows` maps them), plus the records outside any visit and the queries.
   * @example const tree = await client.workflows.subjectTree('MYSTUDY', '01-001');
   */
  async subjectTree(
    studyKey: string,
    subjectKey: string,
    options: SubjectTreeOptions = {},
  ): Promise<SubjectTree> {
    const structure = await this.structure(studyKey, options.signal ? { signal: options.signal } : {});
    return subjectTree(this.#client, structure, subjectKey, options);
  }

  /**
   * Polls many jobs at once until each ends, times out or stops; answers a summary (succeeded,
   * failed, unfinished, elapsed).
   * @example const summary = await client.workflows.pollJobs('MYSTUDY', [batchId], { interval: 2000, failFast: true });
   */
  pollJobs(
    studyKey: string,
    batchIds: readonly string[],
    options: PollJobsOptions = {},
  ): Promise<JobsSummary> {
    return pollJobs(this.#client, studyKey, batchIds, options);
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

export { type AuditTrailOptions, auditTrail } from './audit.js';
export type { DateInput, DateRange } from './dates.js';
export {
  Extraction,
  type ExtractionPlan,
  type ExtractOptions,
  type OneOrMany,
  type RecordCriteria,
} from './extract.js';
export {
  type FailedJob,
  type JobsProgress,
  type JobsSummary,
  type PollJobsOptions,
  pollJobs,
  type UnfinishedJob,
  type UnfinishedReason,
} from './jobs.js';
export {
  convertValue,
  type MapIssue,
  type MapOptions,
  mapRecords,
  type RecordSource,
  RowMappingError,
} from './mapper.js';
export {
  type ChunkMapper,
  type ChunkOptions,
  chunk,
  type MapChunksOptions,
  mapChunks,
  type PipelineSource,
} from './pipeline.js';
export {
  latestComment,
  openQueries,
  type QueryCountOptions,
  type QueryCounts,
  type QueryState,
  type QueryStatus,
  type QueryStreamOptions,
  queryAgeDays,
  queryCounts,
  queryState,
  queryStatus,
  type SiteSelector,
  type SubjectQueryOptions,
  siteQueries,
  subjectQueries,
} from './queries.js';
export {
  fetchStructure,
  type StructureForm,
  type StructureInterval,
  type StructureOptions,
  StudyStructure,
} from './structure.js';
export { type SubjectData, type SubjectDataOptions, subjectData } from './subject.js';
export {
  type SubjectTree,
  type SubjectTreeForm,
  type SubjectTreeOptions,
  type SubjectTreeVisit,
  subjectTree,
} from './subject-tree.js';
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
