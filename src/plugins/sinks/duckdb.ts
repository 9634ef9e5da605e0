/**
 * `duckdbSink`: the record mapper's tables in a DuckDB database file, through `@duckdb/node-api`
 * (an optional peer dependency, Node only, loaded at first use so this entry loads in any runtime).
 * One table per form (or the one long `records` table), with typed columns, keyed by
 * `(study_key, recordId)` (long: plus `variableName`). Each batch goes through DuckDB's appender
 * straight into its table, in one transaction; when the key finds any of its records already there
 * (a resumed export, a batch written twice), it goes to a temporary staging table instead and one
 * `INSERT OR REPLACE` moves it in: a batch written again changes nothing, so a rerun leaves every
 * record exactly once. The manifest lives in
 * the database file beside the tables. DuckDB lets one process at a time write a file; the sink
 * holds it from first use to `close` (or `abort`), which release it.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ImednetError } from '../../core/errors.js';
import type { CellValue, Column, ColumnType, RowBatch, TableSpec } from '../workflows/tables.js';
import { ExportConfigurationError } from './errors.js';
import type { ExportSink, Manifest, ManifestStore, SinkOpenContext } from './types.js';

/**
 * Options of {@link duckdbSink}. The layout follows the tables the export is given: wide (a table
 * per form) or long (`exportStudy(..., { layout: 'long' })`: one `records` table with
 * `variableName`, `variableLabel`, `variableType` and `value`).
 * @example { path: './mystudy.duckdb', schema: 'edc', tablePrefix: 'mystudy_' }
 */
export interface DuckdbSinkOptions {
  /** The database file, created when missing (its folder must exist). */
  path: string;
  /** The schema holding the tables and the manifest (default `main`; created when missing). */
  schema?: string;
  /** Prefix of every table's name, e.g. `mystudy_` gives `mystudy_AE` (default none). */
  tablePrefix?: string;
  /** The table holding the manifests (default `imednet_export_manifest`). */
  manifestTable?: string;
  /**
   * The study this sink exports. The manifest table holds one manifest per study; when several
   * studies share the file and these tables, say which.
   */
  studyKey?: string;
}

/** DuckDB refused a write or a query. Its message never holds a value from the batch. */
export class DuckdbSinkError extends ImednetError {
  static override readonly kind: string = 'DuckdbSinkError';
}

type DuckDBApi = typeof import('@duckdb/node-api');

const STUDY_KEY = 'study_key';

/** The column types, as DuckDB's information_schema names them. */
const DUCKDB_TYPES: { readonly [type in ColumnType]: string } = {
  integer: 'BIGINT',
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  datetime: 'TIMESTAMP WITH TIME ZONE',
  // Kept as the mapper's text (`HH:mm` or `HH:mm:ss`): a TIME column would add seconds never entered.
  time: 'VARCHAR',
  choice: 'VARCHAR',
  text: 'VARCHAR',
};

/** A quoted identifier: any name, as it is. */
const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

const DAY_MS = 86_400_000;

/** One table as the sink writes it. */
interface DuckTable {
  spec: TableSpec;
  name: string;
  /** Quoted, schema-qualified name. */
  qualified: string;
  /** Name of its staging table in `temp.main`. */
  staging: string;
  /** Its columns after `study_key`: the spec's, in order. */
  columns: readonly Column[];
  key: string[];
  /** The appender into the table itself, and the one into its staging table. */
  direct: DuckDBAppender | undefined;
  staged: DuckDBAppender | undefined;
  /** Rows of this table were found already there: upsert every batch from now on. */
  upsert: boolean;
}

let library: Promise<DuckDBApi> | undefined;

/** Loads `@duckdb/node-api` once, at first use: a missing package names itself. */
function loadLibrary(): Promise<DuckDBApi> {
  library ??= import('@duckdb/node-api').catch((cause: unknown) => {
    library = undefined;
    throw new ExportConfigurationError(
      'The DuckDB sink needs the @duckdb/node-api package (Node only): npm install @duckdb/node-api',
      { cause },
    );
  });
  return library;
}

function checkName(what: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) {
    throw new ExportConfigurationError(`duckdbSink: ${what} must be a non-empty string without NUL`);
  }
  return name;
}

/** The table the sink makes of a spec; DuckDB compares names ignoring case, so the checks do too. */
function planTable(spec: TableSpec, schema: string, prefix: string, index: number): DuckTable {
  const name = checkName('table name', `${prefix}${spec.name}`);
  const seen = new Set<string>([STUDY_KEY]);
  for (const column of spec.columns) {
    checkName(`column of ${name}`, column.name);
    const folded = column.name.toLowerCase();
    if (seen.has(folded)) {
      throw new ExportConfigurationError(
        `duckdbSink: table ${name} would have two columns named ${JSON.stringify(column.name)} (DuckDB ignores letter case in names; ${STUDY_KEY} is the sink's own)`,
      );
    }
    seen.add(folded);
  }
  const has = (column: string) => spec.columns.some((c) => c.name === column && c.kind === 'record');
  if (!has('recordId'))
    throw new ExportConfigurationError(`duckdbSink: table ${name} has no recordId column`);
  const key = [STUDY_KEY, 'recordId', ...(has('variableName') ? ['variableName'] : [])];
  return {
    spec,
    name,
    qualified: `${quote(schema)}.${quote(name)}`,
    staging: `imednet_staging_${index}`,
    columns: spec.columns,
    key,
    direct: undefined,
    staged: undefined,
    upsert: false,
  };
}

/** A flush the primary key refused ("Duplicate key "...: 5" violates primary key constraint"). */
const DUPLICATE_KEY = /Duplicate key|violates primary key/i;

/** DuckDB's error classes whose messages never quote a value: shown as they are. */
const SAFE_KINDS =
  /^(IO|Catalog|Binder|Parser|Permission|Transaction|TransactionContext|Interrupt|Out of Memory|Fatal|Internal|Dependency|Serialization|Connection) Error$/;

/**
 * An error from DuckDB made safe to show: only the classes of errors that never quote a value
 * (a key, a cell that did not convert) keep their message.
 */
function safeError(error: unknown, what: string): Error {
  if (error instanceof ImednetError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const kind = /^([A-Za-z ]+ Error):/.exec(message)?.[1];
  const detail =
    kind && SAFE_KINDS.test(kind)
      ? message.split('\n')[0]!
      : `${kind ?? 'DuckDB error'} (its message is not shown: it may quote the data)`;
  return new DuckdbSinkError(`duckdb sink: ${what}: ${detail}`);
}

/** The file is held by another process, or cannot be opened: what a user must do about it. */
function openError(error: unknown, path: string): ExportConfigurationError {
  const message = error instanceof Error ? error.message : String(error);
  if (/Could not set lock|Conflicting lock/i.test(message)) {
    const holder = /held in (.+?) \(PID (\d+)\)/.exec(message);
    return new ExportConfigurationError(
      `duckdbSink: the database file ${path} is open in another process${holder ? ` (${holder[1]}, PID ${holder[2]})` : ''}; DuckDB lets one process write a file at a time: close it there and export again`,
    );
  }
  return new ExportConfigurationError(
    `duckdbSink: cannot open the database file ${path}: ${message.split('\n')[0]}`,
  );
}

/** An appender call per column type, checking each value against its column's type. */
function appendCell(
  api: DuckDBApi,
  appender: DuckDBAppender,
  type: ColumnType,
  value: CellValue | undefined,
): void {
  if (value === null || value === undefined) {
    appender.appendNull();
    return;
  }
  // The value itself stays out of the message: it may be patient data.
  const wrong = () => new TypeError(`not a ${type} (a ${value instanceof Date ? 'Date' : typeof value})`);
  switch (type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw wrong();
      appender.appendBigInt(BigInt(value));
      return;
    case 'number':
      if (typeof value !== 'number') throw wrong();
      appender.appendDouble(value);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong();
      appender.appendBoolean(value);
      return;
    case 'date': {
      const ms = value instanceof Date ? value.getTime() : Number.NaN;
      if (Number.isNaN(ms)) throw wrong();
      // The mapper's dates are UTC midnights; anything else is not a date-only value.
      if (ms % DAY_MS !== 0) throw new TypeError('not a date (a Date past UTC midnight)');
      appender.appendDate(api.dateValue(ms / DAY_MS));
      return;
    }
    case 'datetime': {
      const ms = value instanceof Date ? value.getTime() : Number.NaN;
      if (Number.isNaN(ms)) throw wrong();
      appender.appendTimestampTZ(api.timestampTZValue(BigInt(ms) * 1000n));
      return;
    }
    default:
      if (typeof value !== 'string') throw wrong();
      appender.appendVarchar(value);
  }
}

/**
 * An export sink writing a DuckDB database file (types: integer BIGINT, number DOUBLE, boolean
 * BOOLEAN, date DATE, datetime TIMESTAMPTZ, time/choice/text VARCHAR; column names exactly as the
 * mapper gives them). Tables already in the file must have the columns and key the sink writes, or
 * the export is refused before anything is written. Rows are upserted: exporting again with
 * `restart: true` replaces the rows of the records exported, and leaves any other row in place.
 *
 * @example
 * const sink = duckdbSink({ path: './mystudy.duckdb' });
 * await exportStudy(client, 'MYSTUDY', sink);
 */
export function duckdbSink(options: DuckdbSinkOptions): ExportSink {
  if (typeof options !== 'object' || options === null) {
    throw new ExportConfigurationError('duckdbSink: options must be an object with `path`');
  }
  const path = checkName('path', options.path);
  if (path === ':memory:' || path.startsWith(':memory:')) {
    throw new ExportConfigurationError(
      'duckdbSink: path must be a file: an in-memory database is lost when the export closes it',
    );
  }
  const schema = checkName('schema', options.schema ?? 'main');
  const prefix = options.tablePrefix ?? '';
  if (typeof prefix !== 'string')
    throw new ExportConfigurationError('duckdbSink: tablePrefix must be a string');
  const manifestName = checkName('manifestTable', options.manifestTable ?? 'imednet_export_manifest');
  if (options.studyKey !== undefined && (typeof options.studyKey !== 'string' || options.studyKey === '')) {
    throw new ExportConfigurationError('duckdbSink: studyKey must be a non-empty string');
  }

  let api: DuckDBApi | undefined;
  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection | undefined;
  let openedStudy: string | undefined;
  let manifestReady = false;
  /** Between open and close (or abort): the export holds the file. */
  let active = false;
  const tables = new Map<TableSpec, DuckTable>();
  const byName = new Map<string, DuckTable>();

  const db = async (): Promise<DuckDBConnection> => {
    if (connection) return connection;
    api = await loadLibrary();
    let opened: DuckDBInstance;
    try {
      // From the cache: a second sink on the same file in this process (the next study of an
      // export, a rerun) shares the database DuckDB still holds open for the first, instead of
      // opening the file twice; file locks do not keep a process from itself.
      opened = await api.DuckDBInstance.fromCache(path);
    } catch (error) {
      throw openError(error, path);
    }
    try {
      connection = await opened.connect();
    } catch (error) {
      opened.closeSync();
      throw openError(error, path);
    }
    instance = opened;
    return connection;
  };

  /** Runs setup or manifest queries: a failure there is a configuration error (nothing written). */
  const setup = async <T>(what: string, run: (c: DuckDBConnection) => Promise<T>): Promise<T> => {
    const c = await db();
    try {
      return await run(c);
    } catch (error) {
      if (error instanceof ExportConfigurationError) throw error;
      throw new ExportConfigurationError(safeError(error, what).message);
    }
  };

  const manifestQualified = `${quote(schema)}.${quote(manifestName)}`;
  const sinkIdentity = prefix;
  const knownStudy = () => options.studyKey ?? openedStudy;

  const schemaExists = async (c: DuckDBConnection) =>
    (
      await c.runAndReadAll(
        'select 1 from information_schema.schemata where catalog_name = current_database() and schema_name = $1',
        [schema],
      )
    ).currentRowCount > 0;

  const ensureManifestTable = async (c: DuckDBConnection) => {
    if (manifestReady) return;
    if (!(await schemaExists(c))) await c.run(`create schema if not exists ${quote(schema)}`);
    await c.run(
      `create table if not exists ${manifestQualified} (study_key varchar not null, sink varchar not null, ` +
        'manifest varchar not null, updated_at timestamptz not null default current_timestamp, primary key (study_key, sink))',
    );
    manifestReady = true;
  };

  const manifests = async (c: DuckDBConnection, study: string | undefined) => {
    const found = await c.runAndReadAll(
      'select 1 from information_schema.tables where table_catalog = current_database() and table_schema = $1 and table_name = $2',
      [schema, manifestName],
    );
    if (found.currentRowCount === 0) return [];
    const where = study === undefined ? 'sink = $1' : 'sink = $1 and study_key = $2';
    const reader = await c.runAndReadAll(
      `select study_key, manifest from ${manifestQualified} where ${where}`,
      study === undefined ? [sinkIdentity] : [sinkIdentity, study],
    );
    return reader.getRows().map(([s, m]) => ({ study: String(s), manifest: String(m) }));
  };

  const single = <T>(rows: T[]): T | undefined => {
    if (rows.length > 1) {
      throw new ExportConfigurationError(
        `duckdbSink: the manifest table holds exports of ${rows.length} studies for these tables; pass studyKey to duckdbSink to say which`,
      );
    }
    return rows[0];
  };

  /**
   * A manifest operation. Outside an export's open..close (before it opens, or the completion the
   * runner records after close), the file is checkpointed and let go after it: a closed sink holds
   * no lock on the file.
   */
  const standalone = async <T>(operation: Promise<T>): Promise<T> => {
    try {
      return await operation;
    } finally {
      if (!active) {
        await connection?.run('checkpoint').catch(() => undefined);
        release();
      }
    }
  };

  const manifest: ManifestStore = {
    load: (studyKey?: string) =>
      standalone(
        setup('reading the manifest', async (c) => {
          const row = single(await manifests(c, studyKey ?? knownStudy()));
          return row ? (JSON.parse(row.manifest) as Manifest) : undefined;
        }),
      ),
    save: (value: Manifest) =>
      standalone(
        setup('saving the manifest', async (c) => {
          await ensureManifestTable(c);
          // One statement, so one transaction: the old manifest or the new one, never a mix.
          await c.run(
            `insert or replace into ${manifestQualified} (study_key, sink, manifest, updated_at) values ($1, $2, $3, current_timestamp)`,
            [value.studyKey, sinkIdentity, JSON.stringify(value)],
          );
        }),
      ),
    clear: (studyKey?: string) =>
      standalone(
        setup('clearing the manifest', async (c) => {
          const row = single(await manifests(c, studyKey ?? knownStudy()));
          if (!row) return;
          await c.run(`delete from ${manifestQualified} where sink = $1 and study_key = $2`, [
            sinkIdentity,
            row.study,
          ]);
        }),
      ),
  };

  /** Whether a table is missing (true) or exists with the columns and key the sink writes (false). */
  const isMissing = async (c: DuckDBConnection, table: DuckTable): Promise<boolean> => {
    const found = (
      await c.runAndReadAll(
        'select column_name, data_type from information_schema.columns where table_catalog = current_database() ' +
          'and table_schema = $1 and table_name = $2 order by ordinal_position',
        [schema, table.name],
      )
    ).getRows();
    if (found.length === 0) return true;
    const have = new Map(found.map(([name, type]) => [String(name), String(type)]));
    const want = new Map<string, string>([
      [STUDY_KEY, 'VARCHAR'],
      ...table.columns.map((col) => [col.name, DUCKDB_TYPES[col.type]] as [string, string]),
    ]);
    const differences: string[] = [];
    for (const [name, type] of want) {
      const actual = have.get(name);
      if (actual === undefined) differences.push(`${JSON.stringify(name)} missing (${type})`);
      else if (actual !== type) differences.push(`${JSON.stringify(name)} is ${actual}, not ${type}`);
    }
    for (const name of have.keys())
      if (!want.has(name)) differences.push(`${JSON.stringify(name)} not written by this export`);
    const keys = (
      await c.runAndReadAll(
        "select constraint_column_names from duckdb_constraints() where constraint_type = 'PRIMARY KEY' " +
          'and database_name = current_database() and schema_name = $1 and table_name = $2',
        [schema, table.name],
      )
    ).getRowsJS();
    const key = ((keys[0]?.[0] as unknown[] | undefined) ?? []).map(String).sort();
    if (key.join('\0') !== [...table.key].sort().join('\0')) {
      differences.push(`primary key (${key.join(', ') || 'none'}), not (${table.key.join(', ')})`);
    }
    if (differences.length > 0) {
      throw new ExportConfigurationError(
        `duckdbSink: table ${schema}.${table.name} exists with other columns: ${differences.join('; ')}. Drop it, or export to another schema or tablePrefix`,
      );
    }
    return false;
  };

  const columnDefinitions = (table: DuckTable, keyed: boolean) =>
    [
      `${quote(STUDY_KEY)} VARCHAR${keyed ? ' not null' : ''}`,
      ...table.columns.map(
        (col) =>
          `${quote(col.name)} ${DUCKDB_TYPES[col.type]}${keyed && table.key.includes(col.name) ? ' not null' : ''}`,
      ),
    ].join(', ');

  /** Closes the appenders, the connection and the database (which releases the file's lock). */
  const release = () => {
    const errors: unknown[] = [];
    for (const table of tables.values()) {
      for (const appender of [table.direct, table.staged]) {
        try {
          // Empty by now (every batch is flushed or cleared): closing appends nothing.
          appender?.closeSync();
        } catch (error) {
          errors.push(error);
        }
      }
      table.direct = undefined;
      table.staged = undefined;
    }
    try {
      connection?.closeSync();
    } catch (error) {
      errors.push(error);
    }
    try {
      instance?.closeSync();
    } catch (error) {
      errors.push(error);
    }
    connection = undefined;
    instance = undefined;
    manifestReady = false;
    return errors;
  };

  return {
    kind: 'duckdb',
    manifest,
    async open(context: SinkOpenContext) {
      active = true;
      if (options.studyKey !== undefined && options.studyKey !== context.studyKey) {
        throw new ExportConfigurationError(
          `duckdbSink: this sink was made for study ${options.studyKey}, not ${context.studyKey}`,
        );
      }
      tables.clear();
      byName.clear();
      // Every name is checked before anything is created.
      context.tables.forEach((spec, i) => {
        const table = planTable(spec, schema, prefix, i);
        const folded = table.name.toLowerCase();
        if (byName.has(folded) || folded === manifestName.toLowerCase()) {
          throw new ExportConfigurationError(
            `duckdbSink: two tables would be named ${table.name} (DuckDB ignores letter case in names)`,
          );
        }
        tables.set(spec, table);
        byName.set(folded, table);
      });
      await setup('preparing the tables', async (c) => {
        // Every existing table is checked before any is created: a refusal leaves the file as it was.
        const missing: DuckTable[] = [];
        for (const table of tables.values()) if (await isMissing(c, table)) missing.push(table);
        if (!(await schemaExists(c))) await c.run(`create schema if not exists ${quote(schema)}`);
        for (const table of missing) {
          await c.run(
            `create table if not exists ${table.qualified} (${columnDefinitions(table, true)}, primary key (${table.key.map(quote).join(', ')}))`,
          );
        }
        await ensureManifestTable(c);
        // Staging tables live in the connection's temporary catalog: never in the file.
        for (const table of tables.values()) {
          await c.run(
            `create or replace temp table ${quote(table.staging)} (${columnDefinitions(table, false)})`,
          );
        }
      });
      openedStudy = context.studyKey;
    },
    async writeBatch(batch: RowBatch, batchId: string) {
      const table = tables.get(batch.table) ?? byName.get(`${prefix}${batch.table.name}`.toLowerCase());
      if (!table || openedStudy === undefined || !api) {
        throw new ExportConfigurationError(
          `duckdbSink: batch ${batchId} is of a table the sink was not opened with`,
        );
      }
      if (batch.rows.length === 0) return undefined;
      const c = await db();
      const fill = (appender: DuckDBAppender) => {
        const study = openedStudy!;
        const columns = table.columns;
        try {
          for (const row of batch.rows) {
            appender.appendVarchar(study);
            for (const column of columns) appendCell(api!, appender, column.type, row[column.name]);
            appender.endRow();
          }
        } catch (error) {
          // A half-appended row or batch must not reach the table: drop what the appender holds.
          appender.clear();
          if (error instanceof TypeError) {
            throw new DuckdbSinkError(`duckdb sink: batch ${batchId}: a value is ${error.message}`);
          }
          throw error;
        }
      };
      try {
        // The fast path: the appender straight into the table. A flush appends in one transaction,
        // whole or not at all, and the primary key refuses it when any of its records is already
        // there (a resumed export, a batch written twice): then this batch and the table's later
        // ones take the upsert path.
        if (!table.upsert) {
          table.direct ??= await c.createAppender(table.name, schema);
          fill(table.direct);
          try {
            table.direct.flushSync();
            return undefined;
          } catch (error) {
            table.direct.clear();
            if (!DUPLICATE_KEY.test(error instanceof Error ? error.message : '')) throw error;
            table.upsert = true;
          }
        }
        // The upsert path: the appender into a temporary staging table, then one statement (one
        // transaction) replaces the batch's records in the table.
        const staging = `temp.main.${quote(table.staging)}`;
        table.staged ??= await c.createAppender(table.staging, 'main', 'temp');
        try {
          fill(table.staged);
          table.staged.flushSync();
          await c.run(`insert or replace into ${table.qualified} select * from ${staging}`);
        } finally {
          table.staged.clear();
          await c.run(`delete from ${staging}`).catch(() => undefined);
        }
      } catch (error) {
        throw safeError(error, `writing batch ${batchId}`);
      }
      return undefined;
    },
    async flush() {
      // A committed statement is in DuckDB's write-ahead log, which it syncs on commit.
      return undefined;
    },
    async close() {
      active = false;
      for (const table of tables.values()) {
        for (const appender of [table.direct, table.staged]) appender?.closeSync();
        table.direct = undefined;
        table.staged = undefined;
      }
      if (connection) {
        try {
          // Folds the write-ahead log into the file, so the file alone holds the export.
          await connection.run('checkpoint');
        } catch (error) {
          release();
          throw safeError(error, 'closing the database file');
        }
      }
      const errors = release();
      if (errors.length > 0) throw safeError(errors[0], 'closing the database file');
      return undefined;
    },
    async abort() {
      active = false;
      release();
    },
  };
}
