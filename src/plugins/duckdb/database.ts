/**
 * A study's records in DuckDB-WASM: one in-memory database behind one worker, started at first use
 * (the WebAssembly module takes seconds to compile), fed batch by batch as Arrow IPC, asked SQL
 * that answers Arrow tables or plain rows, and closed with its worker so the process can exit.
 * Operations run one at a time, in call order, on one connection: a query asked during a load
 * waits for the load to commit.
 */
import type { RecordBatch, Table } from 'apache-arrow';
import type { Imednet } from '../../client.js';
import { ConfigurationError, ImednetError } from '../../core/errors.js';
import { type ExportSummary, exportRows } from '../sinks/export.js';
import type { CacheReader } from '../sync/reads.js';
import { type RowsOptions, Workflows } from '../workflows/index.js';
import { type MapOptions, mapRecords } from '../workflows/mapper.js';
import { StudyStructure } from '../workflows/structure.js';
import { planTables, type RowBatch, type TableSpec } from '../workflows/tables.js';
import { batchTable, decodeIpc, ipcStream, plainRows, schemaOf } from './arrow.js';
import {
  checkBundles,
  type DuckdbBundles,
  installedBundles,
  isNodeLike,
  nodeBuiltin,
  nodeFilePath,
} from './bundles.js';
import { StudyDatabaseError } from './errors.js';
import { type DatabaseExportOptions, type ExportSource, rowBatchesOf, specOfResult } from './export.js';
import { type Arrow, type DuckdbWasm, loadArrow, loadDuckdb } from './library.js';
import { type NodeWebWorker, startNodeWorker } from './node-worker.js';
import { type ParquetFile, parquetBatches } from './parquet.js';

/**
 * Options of {@link openStudyDatabase}.
 * @example { bundles: { mvp: { mainModule: '/assets/duckdb-mvp.wasm', mainWorker: '/assets/duckdb-browser-mvp.worker.js' } }, startTimeout: 120_000 }
 */
export interface StudyDatabaseOptions {
  /**
   * DuckDB-WASM's files. In Node the default is the installed `@duckdb/duckdb-wasm` package's own;
   * elsewhere they must be given (a bundler's asset URLs or your server's): nothing is fetched
   * from a CDN unless you give a CDN's URLs here.
   */
  bundles?: DuckdbBundles;
  /**
   * Most milliseconds DuckDB-WASM may take to start (default 60,000; it takes about 5 s on a busy
   * two-core machine): past it the start fails instead of waiting on a worker that never answers.
   */
  startTimeout?: number;
  /**
   * Let SQL reach outside the database: files, URLs, and the extensions DuckDB downloads at first
   * use (Parquet, JSON, ICU time zones...) from DuckDB's extension repository. Default false: the
   * study's tables need none of it, and a statement that does fails at once with DuckDB's
   * "disabled by configuration" instead of fetching from the network (or, offline, waiting
   * forever for an extension).
   */
  externalAccess?: boolean;
}

/**
 * Options of {@link StudyDatabase.loadStudy}: which records and how they become rows (as
 * `client.workflows.rows` takes them), and where the tables go.
 * @example { forms: ['AE', 'VS'], schema: 'mystudy', batchSize: 5000, onProgress: ({ table, rows }) => console.log(table, rows) }
 */
export interface LoadStudyOptions extends RowsOptions {
  /** The DuckDB schema holding the tables (default `main`; created when missing). */
  schema?: string;
  /** Told after each batch is in. */
  onProgress?: (progress: LoadProgress) => void;
}

/**
 * Options of {@link StudyDatabase.loadRows}.
 * @example { tables: await client.workflows.tables('MYSTUDY'), schema: 'mystudy' }
 */
export interface LoadRowsOptions {
  /**
   * Every table to create, even those no batch fills (a form without records). A batch of a table
   * not listed creates its table when it comes.
   */
  tables?: readonly TableSpec[];
  /** The DuckDB schema holding the tables (default `main`; created when missing). */
  schema?: string;
  /** Stops the load between batches; nothing of it stays. */
  signal?: AbortSignal;
  /** Told after each batch is in. */
  onProgress?: (progress: LoadProgress) => void;
}

/** How far a load has come, after a batch. */
export interface LoadProgress {
  /** The table the batch went into. */
  table: string;
  /** Rows in that table so far. */
  rows: number;
  /** Rows in all tables so far. */
  totalRows: number;
}

/** What a load put in the database. */
export interface LoadSummary {
  /** The DuckDB schema holding the tables. */
  schema: string;
  /** Each table created, in order, with its row count. */
  tables: { name: string; rows: number }[];
  /** Rows in all tables. */
  rows: number;
  /** Milliseconds the load took (from the first request to the commit). */
  ms: number;
}

/**
 * What {@link StudyDatabase.loadCache} reads of the sync cache: `client.cache` of
 * `imednet/plugins/sync` (any storage) is one.
 */
export type CachedStudy = Pick<CacheReader, 'getCached' | 'iterateRecords'>;

/**
 * Options of {@link StudyDatabase.loadCache}: how records become rows (as `mapRecords` takes
 * them), and where the tables go.
 * @example { forms: ['AE', 'VS'], schema: 'mystudy', onProgress: ({ table, rows }) => console.log(table, rows) }
 */
export interface LoadCacheOptions extends MapOptions {
  /** The DuckDB schema holding the tables (default `main`; created when missing). */
  schema?: string;
  /** Told after each batch is in. */
  onProgress?: (progress: LoadProgress) => void;
}

/**
 * Options of {@link StudyDatabase.loadParquet}.
 * @example { schema: 'archive', onProgress: ({ table, rows }) => console.log(table, rows) }
 */
export type LoadParquetOptions = Omit<LoadRowsOptions, 'tables'>;

/** The study's structure as the cache holds it; a study never synced is named as such. */
async function cachedStructure(cache: CachedStudy, studyKey: string): Promise<StudyStructure> {
  const [intervals, forms, variables, sites] = await Promise.all([
    cache.getCached(studyKey, 'intervals'),
    cache.getCached(studyKey, 'forms'),
    cache.getCached(studyKey, 'variables'),
    cache.getCached(studyKey, 'sites'),
  ]);
  if (forms.length === 0) {
    throw new ConfigurationError(
      `loadCache: the cache holds no forms of study ${studyKey}: sync it first (client.cache.syncStudy)`,
    );
  }
  return new StudyStructure(studyKey, { intervals, forms, variables, sites });
}

/**
 * A value for a `?` or `$1` placeholder. A `Date` is sent as its ISO 8601 text, which DuckDB
 * casts where a timestamp is expected.
 */
export type QueryParam = string | number | boolean | null | Date;

/** A quoted identifier: any name, as it is. */
export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

type AsyncDuckDB = InstanceType<DuckdbWasm['AsyncDuckDB']>;

interface Engine {
  duckdb: DuckdbWasm;
  arrow: Arrow;
  db: AsyncDuckDB;
  /** The one connection every operation runs on. */
  connection: number;
}

const closedError = () => new StudyDatabaseError('the study database is closed');

/** DuckDB's error as ours, its message kept: it is about SQL the caller wrote. */
function queryError(cause: unknown): StudyDatabaseError {
  if (cause instanceof ImednetError) return cause as StudyDatabaseError;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new StudyDatabaseError(message.split('\n\n')[0]?.trim() || 'DuckDB failed', { cause });
}

/** Aborts when any of the signals does (AbortSignal.any where the runtime has it). */
function anySignal(signals: readonly AbortSignal[]): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([...signals]);
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}

/**
 * A DuckDB-WASM database for a study's records: {@link StudyDatabase.loadStudy} fills it (a table
 * per form, named by the form key), {@link StudyDatabase.query} and
 * {@link StudyDatabase.queryArrow} read it, {@link StudyDatabase.close} (or `await using`) ends
 * it. Made by {@link openStudyDatabase}; DuckDB starts at first use, or at {@link StudyDatabase.start}.
 */
export class StudyDatabase {
  readonly #options: StudyDatabaseOptions;
  #engine: Promise<Engine> | undefined;
  /** The worker and the DuckDB client on it, from the moment they exist until closed. */
  #worker: Worker | undefined;
  #db: AsyncDuckDB | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Why it ended: closed, or its worker failed or stopped. */
  #reason: StudyDatabaseError | undefined;
  /** Rejects once closed: every wait races it, since a terminated worker never answers. */
  readonly #closing: Promise<never>;
  #rejectClosing!: (error: Error) => void;
  /** Stops a running load when the database closes. */
  readonly #abort = new AbortController();
  /** Operations (and a start) under way. */
  #busy = 0;
  /** The tables loaded, by schema, then by lower-cased name (DuckDB's own matching). */
  readonly #loaded = new Map<string, Map<string, TableSpec>>();
  /** The study last loaded into each schema (the default study key of an export). */
  readonly #studies = new Map<string, string>();

  constructor(options: StudyDatabaseOptions = {}) {
    if (options.bundles !== undefined) checkBundles(options.bundles);
    if (
      options.startTimeout !== undefined &&
      !(typeof options.startTimeout === 'number' && options.startTimeout > 0)
    ) {
      throw new ConfigurationError('startTimeout must be a positive number of milliseconds');
    }
    this.#options = options;
    this.#closing = new Promise<never>((_, reject) => {
      this.#rejectClosing = reject;
    });
    // Nobody may be waiting when it closes.
    this.#closing.catch(() => {});
  }

  /** True once {@link StudyDatabase.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The tables loads put in a schema, with their columns (the mapper's table specs), in the order
   * they were created; a table loaded again counts once, with its latest spec.
   * @example
   * await using db = openStudyDatabase();
   * await db.loadStudy(client, 'MYSTUDY');
   * for (const table of db.loadedTables()) console.log(table.name, table.columns.length);
   */
  loadedTables(schema = 'main'): TableSpec[] {
    return [...(this.#loaded.get(schema)?.values() ?? [])];
  }

  /**
   * Starts DuckDB-WASM now rather than at first use (every method starts it anyway); resolves once
   * it answers. Starting twice starts once.
   * @example
   * const db = openStudyDatabase();
   * await db.start(); // pay the start-up here, before the first query
   */
  async start(): Promise<void> {
    await this.#held(() => this.#started());
  }

  /**
   * Loads a study from the API, batch by batch through `client.workflows.rows` (a client without
   * the workflows plugin gets one for the load): a table per form named by its form key (or one
   * `records` table with `layout: 'long'`), every form's table created even when it has no
   * records, columns typed from the variables. Existing tables of those names in the schema are
   * replaced. One transaction: a load that fails or is aborted leaves the database as it was.
   * @example
   * await using db = openStudyDatabase();
   * const summary = await db.loadStudy(client, 'MYSTUDY', { forms: ['AE', 'VS'] });
   * console.log(summary.tables, `${summary.rows} rows in ${summary.ms} ms`);
   */
  loadStudy(
    client: Imednet & { workflows?: Workflows },
    studyKey: string,
    options: LoadStudyOptions = {},
  ): Promise<LoadSummary> {
    const workflows = client.workflows instanceof Workflows ? client.workflows : new Workflows(client);
    // schema and onProgress are the load's; the rest says which records and how they become rows.
    const { schema, onProgress, ...rowsOptions } = options;
    // Its place in line is taken now: what is asked after the call sees the study loaded.
    return this.#loadFrom(studyKey, options, async (signal) => ({
      tables: await workflows.tables(studyKey, rowsOptions),
      batches: workflows.rows(studyKey, { ...rowsOptions, signal }),
    }));
  }

  /**
   * Loads a study from the sync cache (`client.cache` of `imednet/plugins/sync`) with no request
   * to the API: the cached forms, variables, intervals and sites make the tables, the cached live
   * records fill them, as {@link StudyDatabase.loadStudy} would from the API at the time of the
   * last sync, but for deleted records: the cache keeps those as tombstones
   * (`client.cache.getDeletedRecords`), not as rows. Existing tables of those names in the schema
   * are replaced; one transaction.
   * @example
   * const Client = Imednet.plugin(sync());
   * const client = new Client({ apiKey, securityKey, storage: betterSqliteStorage({ filename: 'study.db' }) });
   * await client.cache.syncStudy('MYSTUDY');
   * await using db = openStudyDatabase();
   * await db.loadCache(client.cache, 'MYSTUDY');
   */
  loadCache(cache: CachedStudy, studyKey: string, options: LoadCacheOptions = {}): Promise<LoadSummary> {
    const { schema, onProgress, signal: _, ...mapOptions } = options;
    return this.#loadFrom(studyKey, options, async (signal) => {
      const structure = await cachedStructure(cache, studyKey);
      const records = cache.iterateRecords(studyKey, { batchSize: mapOptions.batchSize ?? 1000 });
      return {
        tables: planTables(structure, mapOptions),
        batches: mapRecords(records, structure, { ...mapOptions, signal }),
      };
    });
  }

  /**
   * Loads Parquet files: a table per form as the Parquet sink wrote them (its files, file per
   * form or Hive parts, name their table and columns, so the tables equal a load from the API),
   * or any flat Parquet file, typed from its schema (a table named by its `form=` folder or its
   * base name). Files of one table append; read a row group at a time with `hyparquet` (install
   * it), since DuckDB-WASM reads Parquet only through an extension it would download. Existing
   * tables of those names in the schema are replaced; one transaction.
   * @example
   * import { readFile } from 'node:fs/promises';
   * import { openStudyDatabase } from 'imednet/plugins/duckdb';
   *
   * await using db = openStudyDatabase();
   * await db.loadParquet([{ name: 'AE.parquet', data: await readFile('out/AE.parquet') }]);
   * console.log(await db.query('SELECT count(*) AS n FROM "AE"'));
   */
  loadParquet(
    files: Iterable<ParquetFile> | AsyncIterable<ParquetFile>,
    options: LoadParquetOptions = {},
  ): Promise<LoadSummary> {
    if (
      files === null ||
      typeof files !== 'object' ||
      !(Symbol.iterator in files || Symbol.asyncIterator in files)
    ) {
      return Promise.reject(new ConfigurationError('loadParquet: give a list of { name, data } files'));
    }
    const { signal: callerSignal, ...rest } = options;
    return this.#run((engine) => {
      const signal = this.#loadSignal(callerSignal);
      return this.#load(engine, parquetBatches(files, signal), { ...rest, signal });
    });
  }

  /**
   * Exports tables of the database through an export sink (`imednet/plugins/sinks/*`): loaded
   * tables with the columns of their load (so a table exported from here is the file the same
   * sink makes from the API), and the results of queries, typed from their columns. Resumable as
   * every export is (the sink's manifest), batch by batch, with no table held whole in memory.
   * @example
   * import { openStudyDatabase } from 'imednet/plugins/duckdb';
   * import { csvSink } from 'imednet/plugins/sinks/csv';
   * import { nodeDirectory } from 'imednet/plugins/sinks/node';
   *
   * await using db = openStudyDatabase();
   * await db.loadStudy(client, 'MYSTUDY');
   * await db.export({
   *   sink: csvSink({ directory: nodeDirectory('out') }),
   *   tables: ['AE'],
   *   queries: { ae_per_site: 'SELECT siteName, count(*) AS n FROM "AE" GROUP BY siteName ORDER BY siteName' },
   * });
   */
  export(options: DatabaseExportOptions): Promise<ExportSummary> {
    if (typeof options !== 'object' || options === null || typeof options.sink?.open !== 'function') {
      return Promise.reject(new ConfigurationError('export: give a sink, e.g. csvSink({ directory })'));
    }
    const { sink, tables: names, queries, schema = 'main', studyKey, batchSize = 1000, ...run } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      return Promise.reject(
        new ConfigurationError(`batchSize must be a positive integer (got ${String(batchSize)})`),
      );
    }
    return this.#run(async (engine) => {
      const { arrow, db, connection } = engine;
      const signal = this.#loadSignal(run.signal);
      const sources: ExportSource[] = [];
      const loaded = this.#loaded.get(schema) ?? new Map<string, TableSpec>();
      const chosen = names ?? (queries ? [] : [...loaded.values()].map((spec) => spec.name));
      for (const name of chosen) {
        const spec = loaded.get(String(name).toLowerCase());
        if (!spec) {
          const known = [...loaded.values()].map((t) => t.name).join(', ') || 'none';
          throw new ConfigurationError(
            `export: no table ${name} was loaded into schema ${schema} (loaded: ${known})`,
          );
        }
        const columns = spec.columns.map((c) => quoteIdentifier(c.name)).join(', ');
        sources.push({
          spec,
          sql: `SELECT ${columns} FROM ${quoteIdentifier(schema)}.${quoteIdentifier(spec.name)}`,
        });
      }
      for (const [name, sql] of Object.entries(queries ?? {})) {
        if (typeof sql !== 'string' || sql.trim() === '') {
          throw new ConfigurationError(`export: queries.${name} must be SQL text`);
        }
        const result = await db
          .runQuery(connection, `SELECT * FROM (${sql.trim().replace(/;+$/, '')}) AS q LIMIT 0`)
          .catch((error: unknown) => {
            throw queryError(error);
          });
        sources.push({ spec: specOfResult(arrow, name, decodeIpc(arrow, result).schema), sql });
      }
      const folded = new Set<string>();
      for (const { spec } of sources) {
        if (folded.has(spec.name.toLowerCase())) {
          throw new ConfigurationError(`export: two tables are named ${spec.name} (letter case aside)`);
        }
        folded.add(spec.name.toLowerCase());
      }
      if (sources.length === 0) {
        throw new ConfigurationError(
          `export: nothing to export: no table was loaded into schema ${schema} and no query was given`,
        );
      }
      const duckdb = engine.duckdb;
      async function* batches(): AsyncGenerator<RowBatch> {
        for (const { spec, sql } of sources) {
          // The result's IPC bytes, decoded by this entry's Arrow: DuckDB-WASM's own reader would
          // answer batches of the Arrow copy it resolves, which may be another version than ours.
          const header = await (async () => {
            let bytes = await db.startPendingQuery(connection, sql, true);
            while (bytes === null) bytes = await db.pollPendingQuery(connection);
            return bytes;
          })().catch((error: unknown) => {
            throw queryError(error);
          });
          const chunks = new duckdb.AsyncResultStreamIterator(db, connection, header);
          const reader = await arrow.RecordBatchReader.from(chunks);
          yield* rowBatchesOf(arrow, spec, reader as AsyncIterable<RecordBatch>, batchSize, signal);
        }
      }
      return exportRows(batches(), sink, {
        ...run,
        signal,
        studyKey: studyKey ?? this.#studies.get(schema) ?? schema,
        tables: sources.map((s) => s.spec),
      });
    });
  }

  /**
   * Loads row batches (the record mapper's, from the API, the sync cache or your own code) into a
   * table per batch table, replacing tables of those names in the schema. One transaction: a load
   * that fails or is aborted leaves the database as it was.
   * @example
   * await using db = openStudyDatabase();
   * const tables = await client.workflows.tables('MYSTUDY');
   * await db.loadRows(client.workflows.rows('MYSTUDY'), { tables });
   */
  loadRows(
    batches: AsyncIterable<RowBatch> | Iterable<RowBatch>,
    options: LoadRowsOptions = {},
  ): Promise<LoadSummary> {
    return this.#run((engine) => this.#load(engine, batches, options));
  }

  /**
   * A study's load, in its turn: `source` gives the tables and the batches (stopped by the load's
   * signal), the study is remembered as the schema's (the default of an export), and the time
   * counts from the first request.
   */
  #loadFrom(
    studyKey: string,
    { schema, onProgress, signal: callerSignal }: Omit<LoadRowsOptions, 'tables'>,
    source: (signal: AbortSignal) => Promise<{ tables: TableSpec[]; batches: AsyncIterable<RowBatch> }>,
  ): Promise<LoadSummary> {
    return this.#run(async (engine) => {
      const started = performance.now();
      const signal = this.#loadSignal(callerSignal);
      const { tables, batches } = await source(signal);
      const summary = await this.#load(engine, batches, {
        tables,
        signal,
        ...(schema !== undefined ? { schema } : {}),
        ...(onProgress ? { onProgress } : {}),
      });
      this.#studies.set(summary.schema, studyKey);
      return { ...summary, ms: Math.round(performance.now() - started) };
    });
  }

  /** Stops a load when the caller's signal aborts or the database closes. */
  #loadSignal(signal: AbortSignal | undefined): AbortSignal {
    return anySignal([this.#abort.signal, ...(signal ? [signal] : [])]);
  }

  /** One load, in its turn: tables replaced and filled in one transaction. */
  async #load(
    { arrow, db, connection }: Engine,
    batches: AsyncIterable<RowBatch> | Iterable<RowBatch>,
    options: LoadRowsOptions,
  ): Promise<LoadSummary> {
    const schema = options.schema ?? 'main';
    if (typeof schema !== 'string' || schema.length === 0) {
      throw new ConfigurationError('schema must be a non-empty string');
    }
    const started = performance.now();
    const signal = this.#loadSignal(options.signal);
    const run = (sql: string) => db.runQuery(connection, sql);
    const tables = new Map<string, { spec: TableSpec; schema: ReturnType<typeof schemaOf>; rows: number }>();
    const folded = new Map<string, string>();
    const create = async (spec: TableSpec) => {
      // DuckDB ignores letter case in names: two such tables would be one.
      const other = folded.get(spec.name.toLowerCase());
      if (other !== undefined && other !== spec.name) {
        throw new StudyDatabaseError(
          `tables ${other} and ${spec.name} differ only in letter case, which DuckDB ignores`,
        );
      }
      folded.set(spec.name.toLowerCase(), spec.name);
      const table = { spec, schema: schemaOf(arrow, spec, 'duckdb'), rows: 0 };
      tables.set(spec.name, table);
      await run(`DROP TABLE IF EXISTS ${quoteIdentifier(schema)}.${quoteIdentifier(spec.name)}`);
      // The table's types come from the same Arrow schema as its batches: one mapping, not two.
      await db.insertArrowFromIPCStream(connection, ipcStream(arrow, new arrow.Table(table.schema)), {
        name: spec.name,
        schema,
        create: true,
      });
      return table;
    };
    let totalRows = 0;
    await run('BEGIN TRANSACTION');
    try {
      await run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
      for (const spec of options.tables ?? []) {
        if (!tables.has(spec.name)) await create(spec);
      }
      // One insert in flight while the next batch is fetched, mapped and made Arrow: the worker
      // inserts on its own thread meanwhile. Its failure is seen before anything else is sent.
      let inFlight: Promise<void> | undefined;
      try {
        for await (const batch of batches) {
          signal.throwIfAborted();
          let table = tables.get(batch.table.name);
          if (!table) {
            await inFlight;
            table = await create(batch.table);
          }
          if (batch.rows.length === 0) continue;
          const bytes = ipcStream(arrow, batchTable(arrow, table.spec, table.schema, batch.rows));
          await inFlight;
          signal.throwIfAborted();
          const into = table;
          const count = batch.rows.length;
          inFlight = db
            .insertArrowFromIPCStream(connection, bytes, { name: into.spec.name, schema, create: false })
            .then(
              () => {
                into.rows += count;
                totalRows += count;
                options.onProgress?.({ table: into.spec.name, rows: into.rows, totalRows });
              },
              (cause: unknown) => {
                // DuckDB's message may quote a value: it stays in the cause.
                throw new StudyDatabaseError(`DuckDB refused a batch of table ${into.spec.name}`, { cause });
              },
            );
          // Seen at the next await; until then a failure is not an unhandled rejection.
          inFlight.catch(() => {});
        }
        await inFlight;
      } finally {
        // Whatever stopped the loop, the insert still out settles before the rollback is sent.
        await inFlight?.catch(() => {});
      }
      signal.throwIfAborted();
      await run('COMMIT');
      const known = this.#loaded.get(schema) ?? new Map<string, TableSpec>();
      for (const { spec } of tables.values()) known.set(spec.name.toLowerCase(), spec);
      this.#loaded.set(schema, known);
    } catch (error) {
      if (!this.#closed) await run('ROLLBACK').catch(() => {});
      throw signal.aborted && this.#closed ? this.#ended() : error;
    }
    return {
      schema,
      tables: [...tables.values()].map((t) => ({ name: t.spec.name, rows: t.rows })),
      rows: totalRows,
      ms: Math.round(performance.now() - started),
    };
  }

  /**
   * Runs SQL and answers its rows as plain objects: integers as numbers (a bigint past 2^53),
   * decimals as numbers, dates and timestamps as `Date`, nulls as null. Placeholders (`?`, `$1`)
   * take `params`.
   * @example
   * await using db = openStudyDatabase();
   * const rows = await db.query('SELECT siteName, count(*) AS n FROM "AE" GROUP BY siteName ORDER BY n DESC');
   * const one = await db.query('SELECT * FROM "VS" WHERE subjectKey = ?', ['01-001']);
   */
  async query<T extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly QueryParam[],
  ): Promise<T[]> {
    const arrow = await loadArrow();
    return plainRows(arrow, await this.queryArrow(sql, params)) as T[];
  }

  /**
   * Runs SQL and answers its result as an Apache Arrow table (of the `apache-arrow` package an ES
   * module import gets). Placeholders (`?`, `$1`) take `params`.
   * @example
   * await using db = openStudyDatabase();
   * const table = await db.queryArrow('SELECT * FROM "VS"');
   * console.log(table.numRows, table.schema.fields.map((f) => String(f.type)));
   */
  queryArrow(sql: string, params?: readonly QueryParam[]): Promise<Table> {
    if (typeof sql !== 'string' || sql.trim() === '') {
      return Promise.reject(new ConfigurationError('query: give the SQL to run'));
    }
    return this.#run(async ({ arrow, db, connection }) => {
      try {
        if (params === undefined || params.length === 0) {
          return decodeIpc(arrow, await db.runQuery(connection, sql));
        }
        const values = params.map((p) => (p instanceof Date ? p.toISOString() : p));
        const statement = await db.createPrepared(connection, sql);
        try {
          return decodeIpc(arrow, await db.runPrepared(connection, statement, values));
        } finally {
          await db.closePrepared(connection, statement).catch(() => {});
        }
      } catch (error) {
        throw queryError(error);
      }
    });
  }

  /**
   * Ends the database: a running load stops and leaves nothing, pending operations fail with
   * StudyDatabaseError, and the worker is terminated (nothing is left to keep a Node process
   * alive). Closing twice closes once.
   * @example
   * const db = openStudyDatabase();
   * try {
   *   await db.loadStudy(client, 'MYSTUDY');
   * } finally {
   *   await db.close();
   * }
   */
  async close(): Promise<void> {
    this.#end(closedError());
    await this.#engine?.catch(() => {});
  }

  /** Ends the database for `reason`, once: loads stop, waiting operations fail with it, the worker goes. */
  #end(reason: StudyDatabaseError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reason = reason;
    this.#abort.abort(reason);
    this.#rejectClosing(reason);
    // A start under way sees #closed at its next step and ends what it made.
    this.#terminate();
  }

  /** The error of an operation asked after the end. */
  #ended(): StudyDatabaseError {
    return this.#reason ?? closedError();
  }

  /**
   * Ends the worker. The DuckDB client lets go of it first: told of the worker's end with requests
   * pending, it would write a warning to the console.
   */
  #terminate(): void {
    this.#db?.detach();
    this.#worker?.terminate();
    this.#db = undefined;
    this.#worker = undefined;
  }

  /** `await using db = openStudyDatabase()` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Runs `op` after every earlier operation, on the started engine; fails at once when closed. */
  #run<T>(op: (engine: Engine) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#ended());
    const result = this.#held(() =>
      this.#queue.then(async () => {
        if (this.#closed) throw this.#ended();
        return op(await this.#started());
      }),
    );
    this.#queue = result.catch(() => {});
    return Promise.race([result, this.#closing]);
  }

  /** Counts `work` as under way while it runs (see #holdProcess). */
  async #held<T>(work: () => Promise<T>): Promise<T> {
    this.#busy++;
    this.#holdProcess();
    try {
      return await work();
    } finally {
      this.#busy--;
      this.#holdProcess();
    }
  }

  #started(): Promise<Engine> {
    if (this.#closed) return Promise.reject(this.#ended());
    this.#engine ??= Promise.race([this.#start(), this.#closing]).catch((error: unknown) => {
      // A failed start may be retried (a package installed meanwhile).
      this.#engine = undefined;
      throw error;
    });
    return this.#engine;
  }

  async #start(): Promise<Engine> {
    const [duckdb, arrow] = await Promise.all([loadDuckdb(), loadArrow()]);
    const bundle = await duckdb.selectBundle(await this.#bundles());
    if (!bundle.mainWorker) throw new ConfigurationError('bundles: the selected build has no mainWorker');
    const { worker, mainModule } = await this.#makeWorker(bundle.mainModule, bundle.mainWorker);
    if (this.#closed) {
      worker.terminate();
      throw this.#ended();
    }
    this.#worker = worker;
    this.#holdProcess();
    const timeout = this.#options.startTimeout ?? 60_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onError: ((event: Event) => void) | undefined;
    // A worker that fails to load, or never answers, fails the start instead of hanging it.
    const failed = new Promise<never>((_, reject) => {
      onError = (event: Event) => {
        const message = (event as ErrorEvent).message;
        reject(new StudyDatabaseError(`DuckDB-WASM's worker failed${message ? `: ${message}` : ''}`));
      };
      worker.addEventListener('error', onError);
      timer = setTimeout(
        () => reject(new StudyDatabaseError(`DuckDB-WASM did not start within ${timeout} ms`)),
        timeout,
      );
    });
    // Once started, a worker that fails or stops ends the database: nothing waits on it forever.
    // Listening before DuckDB's client does lets the end detach that client before it hears of
    // the stop (and warns on the console of the requests it will never answer).
    let running = false;
    worker.addEventListener('error', (event: Event) => {
      const message = (event as ErrorEvent).message;
      if (running)
        this.#end(new StudyDatabaseError(`DuckDB-WASM's worker failed${message ? `: ${message}` : ''}`));
    });
    worker.addEventListener('close', () => {
      if (running) this.#end(new StudyDatabaseError("DuckDB-WASM's worker stopped"));
    });
    const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
    this.#db = db;
    try {
      const connection = await Promise.race([
        (async () => {
          await db.instantiate(mainModule, bundle.pthreadWorker);
          await db.open({});
          const connection = await db.connectInternal();
          if (!this.#options.externalAccess) {
            // DuckDB fetches a missing extension even with autoloading off (ICU, for time zones),
            // and offline the statement then waits forever: no external access fails it at once.
            await db.runQuery(connection, 'SET enable_external_access = false');
          }
          return connection;
        })(),
        failed,
        this.#closing,
      ]);
      running = true;
      return { duckdb, arrow, db, connection };
    } catch (error) {
      if (this.#worker === worker) this.#terminate();
      else worker.terminate();
      if (this.#closed) throw this.#ended();
      throw error instanceof ImednetError
        ? error
        : new StudyDatabaseError('DuckDB-WASM did not start', { cause: error });
    } finally {
      clearTimeout(timer);
      if (onError) worker.removeEventListener('error', onError);
    }
  }

  /** The caller's bundles, or in Node the installed package's. */
  async #bundles(): Promise<DuckdbBundles> {
    if (this.#options.bundles) return this.#options.bundles;
    if (!isNodeLike()) {
      throw new ConfigurationError(
        "openStudyDatabase: outside Node give the bundles option (the URLs of DuckDB-WASM's .wasm and worker files, e.g. from your bundler); nothing is fetched from a CDN by default",
      );
    }
    return installedBundles();
  }

  /** The worker, and the module as that worker reads it (in Node a file path). */
  async #makeWorker(mainModule: string, mainWorker: string): Promise<{ worker: Worker; mainModule: string }> {
    if (isNodeLike()) {
      const [script, module] = await Promise.all([nodeFilePath(mainWorker), nodeFilePath(mainModule)]);
      await assertReadable([script, module]);
      return { worker: await startNodeWorker(script), mainModule: module };
    }
    return { worker: new Worker(mainWorker), mainModule };
  }

  /**
   * A Node worker holds the process open only while an operation runs: a database nobody closed
   * does not keep a finished script from exiting, and one mid-query does not let it exit early.
   */
  #holdProcess(): void {
    const worker = this.#worker as Partial<NodeWebWorker> | undefined;
    if (this.#busy > 0) worker?.ref?.();
    else worker?.unref?.();
  }
}

/** In Node, both files must be there before a worker starts: a clear error instead of a failed start. */
async function assertReadable(files: readonly string[]): Promise<void> {
  const { access } = await nodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
  for (const file of files) {
    await access(file).catch((cause: unknown) => {
      throw new ConfigurationError(`imednet/plugins/duckdb: DuckDB-WASM file not found: ${file}`, { cause });
    });
  }
}

/**
 * Opens a DuckDB-WASM database for a study's records. Nothing starts until first use (or
 * `start()`): DuckDB-WASM then loads in a worker (in Node a worker thread, from the installed
 * `@duckdb/duckdb-wasm` package; elsewhere from the `bundles` you give). Close it with `close()`
 * or `await using`.
 * @example
 * import { Imednet } from 'imednet';
 * import { openStudyDatabase } from 'imednet/plugins/duckdb';
 *
 * const client = new Imednet({ apiKey, securityKey });
 * await using db = openStudyDatabase();
 * await db.loadStudy(client, 'MYSTUDY');
 * console.log(await db.query('SELECT siteName, count(*) AS records FROM "AE" GROUP BY siteName'));
 */
export function openStudyDatabase(options: StudyDatabaseOptions = {}): StudyDatabase {
  return new StudyDatabase(options);
}
