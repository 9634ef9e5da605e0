/**
 * `postgresSink`: the record mapper's tables in PostgreSQL through postgres.js (porsager/postgres,
 * an optional peer dependency loaded at first use). One table per form (or the one long table),
 * keyed by `(study_key, recordId)` (long: plus `variableName`); each batch is one upsert, so a batch
 * written again changes nothing and a rerun leaves every record exactly once. The manifest lives
 * in the database beside the tables.
 */
import type postgres from 'postgres';
import { ImednetError } from '../../core/errors.js';
import type { CellValue, Column, ColumnType, RowBatch, TableSpec } from '../workflows/tables.js';
import { jsonCell } from './canonical.js';
import { ExportConfigurationError } from './errors.js';
import type { ExportSink, Manifest, ManifestStore, SinkOpenContext } from './types.js';

/** A postgres.js connection (what `postgres(url)` returns). */
export type PostgresSql = postgres.Sql<Record<string, unknown>>;

/**
 * Options of {@link postgresSink}: a connection (`sql` or `url`) and where the tables go. The
 * layout follows the tables the export is given: wide (a table per form) or long (one `records`
 * table with `variableName`, `variableLabel`, `variableType` and `value`).
 * @example { url: process.env.DATABASE_URL, schema: 'edc', tablePrefix: 'mystudy_' }
 */
export interface PostgresSinkOptions {
  /** A postgres.js connection you own (the sink never ends it). */
  sql?: PostgresSql;
  /**
   * A connection string, `postgres://user:password@host:5432/database`: the sink connects at first
   * use and ends the connection on close. Never shown in a message.
   */
  url?: string;
  /** The schema holding the tables and the manifest (default `public`; created when missing). */
  schema?: string;
  /**
   * Put each wide row's variable columns in one JSONB column `data` (keys are the column names,
   * dates ISO 8601) instead of a column per variable; the record columns stay columns.
   */
  jsonb?: boolean;
  /** Prefix of every table's name, e.g. `mystudy_` gives `mystudy_AE` (default none). */
  tablePrefix?: string;
  /** The table holding the manifests (default `imednet_export_manifest`). */
  manifestTable?: string;
  /**
   * The study this sink exports. The manifest table holds one manifest per study and sink; the
   * runner reads it before opening the sink, so when several studies share these tables, say which.
   */
  studyKey?: string;
}

/**
 * PostgreSQL refused a write or a query (the SQLSTATE in `code`). Its message never holds a value
 * from the batch, the connection string or its user and password.
 */
export class PostgresSinkError extends ImednetError {
  static override readonly kind: string = 'PostgresSinkError';
  /** The SQLSTATE (e.g. `23505`) or the network error's code (e.g. `ECONNRESET`), when known. */
  readonly code?: string;
  constructor(message: string, code: string | undefined) {
    super(message);
    if (code !== undefined) this.code = code;
  }
}

/** PostgreSQL's longest identifier, in bytes (longer ones it would cut silently). */
const MAX_IDENTIFIER_BYTES = 63;
const STUDY_KEY = 'study_key';
const DATA = 'data';
const encoder = new TextEncoder();

/** The column types, as information_schema names them. */
const PG_TYPES: { readonly [type in ColumnType]: string } = {
  integer: 'bigint',
  number: 'double precision',
  boolean: 'boolean',
  date: 'date',
  datetime: 'timestamp with time zone',
  time: 'text',
  choice: 'text',
  text: 'text',
};

/** A quoted identifier. (postgres.js's own helper splits names at dots, and labels may have dots.) */
const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** One column as the table holds it. */
interface PgColumn {
  name: string;
  /** information_schema's name of its type. */
  type: string;
  /** Where its values come from: a row column, or every variable column (JSONB `data`). */
  from: Column | readonly Column[];
}

/** A table as the sink writes it. */
interface PgTable {
  spec: TableSpec;
  /** Quoted, schema-qualified name. */
  qualified: string;
  name: string;
  columns: PgColumn[];
  key: string[];
  /** The upsert, `$1` the study key and `$2..` one array per column. */
  upsert: string;
}

function checkIdentifier(what: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) {
    throw new ExportConfigurationError(`postgresSink: ${what} must be a non-empty string without NUL`);
  }
  if (encoder.encode(name).length > MAX_IDENTIFIER_BYTES) {
    throw new ExportConfigurationError(
      `postgresSink: ${what} ${JSON.stringify(name)} is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES} bytes`,
    );
  }
  return name;
}

/** The table the sink makes of a spec: checks every name, then lays out columns, key and upsert. */
function planTable(spec: TableSpec, schema: string, prefix: string, jsonb: boolean): PgTable {
  const name = checkIdentifier('table name', `${prefix}${spec.name}`);
  const columns: PgColumn[] = [{ name: STUDY_KEY, type: 'text', from: [] }];
  const variables: Column[] = [];
  for (const column of spec.columns) {
    if (jsonb && column.kind !== 'record') variables.push(column);
    else
      columns.push({
        name: checkIdentifier(`column of ${name}`, column.name),
        type: PG_TYPES[column.type],
        from: column,
      });
  }
  if (jsonb && (variables.length > 0 || spec.formKey !== undefined)) {
    columns.push({ name: DATA, type: 'jsonb', from: variables });
  }
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column.name)) {
      throw new ExportConfigurationError(
        `postgresSink: table ${name} would have two columns named ${JSON.stringify(column.name)} (${STUDY_KEY}${jsonb ? ` and ${DATA}` : ''} are the sink's own)`,
      );
    }
    seen.add(column.name);
  }
  const has = (column: string) => spec.columns.some((c) => c.name === column && c.kind === 'record');
  if (!has('recordId'))
    throw new ExportConfigurationError(`postgresSink: table ${name} has no recordId column`);
  const key = [STUDY_KEY, 'recordId', ...(has('variableName') ? ['variableName'] : [])];
  const qualified = `${quote(schema)}.${quote(name)}`;
  const list = columns.map((c) => quote(c.name)).join(', ');
  const arrays = columns
    .slice(1)
    .map((c, i) => `$${i + 2}::${c.type === 'timestamp with time zone' ? 'timestamptz' : c.type}[]`)
    .join(', ');
  const updates = columns
    .filter((c) => !key.includes(c.name))
    .map((c) => `${quote(c.name)} = excluded.${quote(c.name)}`);
  const upsert =
    `insert into ${qualified} (${list}) select $1::text, * from unnest(${arrays}) ` +
    `on conflict (${key.map(quote).join(', ')}) do ${updates.length > 0 ? `update set ${updates.join(', ')}` : 'nothing'}`;
  return { spec, qualified, name, columns, key, upsert };
}

/** An element of a PostgreSQL array literal. */
function arrayElement(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** A cell as PostgreSQL's text input for its column, or null. */
function cellText(value: CellValue | undefined, type: string): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return type === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
  return String(value);
}

/**
 * One array literal per column: the whole batch travels as a handful of parameters (however many
 * rows and columns, far below PostgreSQL's 65,535 parameters per statement), bound, never spliced
 * into the SQL.
 */
function columnArrays(table: PgTable, batch: RowBatch): string[] {
  const out: string[] = [];
  for (const column of table.columns.slice(1)) {
    const parts: string[] = [];
    const from = column.from;
    if (Array.isArray(from)) {
      const names = (from as readonly Column[]).map((c) => c.name);
      const keys = names.map((n) => JSON.stringify(n));
      for (const row of batch.rows) {
        let json = '{';
        for (let i = 0; i < names.length; i++)
          json += `${i > 0 ? ',' : ''}${keys[i]}:${jsonCell(row[names[i]!] ?? null)}`;
        parts.push(arrayElement(`${json}}`));
      }
    } else {
      const name = (from as Column).name;
      for (const row of batch.rows) {
        const text = cellText(row[name], column.type);
        parts.push(text === null ? 'NULL' : arrayElement(text));
      }
    }
    out.push(`{${parts.join(',')}}`);
  }
  return out;
}

/** The strings a message must never hold: the connection string, its user and its password. */
function secretsOf(url: string | undefined, sql: PostgresSql | undefined): string[] {
  const secrets: string[] = [];
  if (url) {
    secrets.push(url);
    try {
      const parsed = new URL(url);
      secrets.push(
        parsed.username,
        decodeURIComponent(parsed.username),
        parsed.password,
        decodeURIComponent(parsed.password),
      );
    } catch {
      // An unparsable string is refused before any connection; the whole string is covered above.
    }
  }
  const options = (sql as { options?: { user?: unknown; pass?: unknown } } | undefined)?.options;
  for (const value of [options?.user, options?.pass]) if (typeof value === 'string') secrets.push(value);
  return secrets.filter((s) => s.length > 0);
}

/** SQLSTATE classes whose messages quote the data: 22 (data exception), 23 (integrity). */
const QUOTES_DATA = /^2[23]/;

/**
 * An error from postgres.js made safe to show: the original carries the batch's values
 * (`parameters`) and may name the user, so it is never kept as the cause.
 */
function safeError(error: unknown, secrets: readonly string[], what: string): Error {
  if (error instanceof ImednetError) return error;
  const e = (error ?? {}) as { code?: unknown; message?: unknown; severity?: unknown; column_name?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const fromServer = typeof e.severity === 'string' && code !== undefined;
  let detail: string;
  if (fromServer && QUOTES_DATA.test(code)) {
    detail = `SQLSTATE ${code}${typeof e.column_name === 'string' ? ` (column ${e.column_name})` : ''}`;
  } else if (secrets.some((s) => message.includes(s))) {
    detail = `${code ?? 'error'} (its message is not shown: it names the connection or its user)`;
  } else {
    detail = code && !message.includes(code) ? `${code} ${message}` : message;
  }
  return new PostgresSinkError(`postgres sink: ${what}: ${detail}`, code);
}

/** Errors that mean the connection settings are wrong rather than a passing failure. */
function isConnectionSetting(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    (/^(28|3D|08)/.test(code) || ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(code))
  );
}

/** The postgres.js factory, loaded at first use. */
async function loadPostgres(): Promise<typeof postgres> {
  try {
    const module = (await import('postgres')) as { default?: typeof postgres };
    return module.default ?? (module as unknown as typeof postgres);
  } catch (cause) {
    throw new ExportConfigurationError(
      'postgresSink needs the optional package postgres (postgres.js): run `npm install postgres`',
      { cause },
    );
  }
}

/**
 * An export sink writing to PostgreSQL. Give a connection string (`url`, the sink connects and
 * disconnects) or your own postgres.js connection (`sql`).
 *
 * @example
 * const sink = postgresSink({ url: process.env.DATABASE_URL, schema: 'edc' });
 * await exportStudy(client, 'MYSTUDY', sink);
 */
export function postgresSink(options: PostgresSinkOptions): ExportSink {
  const schema = options.schema ?? 'public';
  const prefix = options.tablePrefix ?? '';
  const manifestName = options.manifestTable ?? 'imednet_export_manifest';
  const jsonb = options.jsonb === true;
  const secrets = secretsOf(options.url, options.sql);
  let connection: PostgresSql | undefined;
  let owned = false;
  /** Between open and close (or abort): the export holds the connection. */
  let active = false;
  let openedStudy: string | undefined;
  const tables = new Map<TableSpec, PgTable>();
  const byName = new Map<string, PgTable>();
  let manifestReady = false;

  const checkOptions = () => {
    if (typeof options !== 'object' || options === null) {
      throw new ExportConfigurationError('postgresSink: options must be an object with `sql` or `url`');
    }
    if ((options.sql === undefined) === (options.url === undefined)) {
      throw new ExportConfigurationError(
        'postgresSink: give either `sql` (a postgres.js connection) or `url`',
      );
    }
    if (options.sql !== undefined && typeof options.sql !== 'function') {
      throw new ExportConfigurationError(
        'postgresSink: `sql` must be a postgres.js connection (postgres(...))',
      );
    }
    if (options.url !== undefined) {
      let protocol: string | undefined;
      try {
        protocol = typeof options.url === 'string' ? new URL(options.url).protocol : undefined;
      } catch {
        protocol = undefined;
      }
      if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
        throw new ExportConfigurationError(
          'postgresSink: `url` must be a connection string postgres://user:password@host:port/database (the one given is not; it is not shown here)',
        );
      }
    }
    checkIdentifier('schema', schema);
    checkIdentifier('manifestTable', manifestName);
    if (typeof prefix !== 'string')
      throw new ExportConfigurationError('postgresSink: tablePrefix must be a string');
    if (options.studyKey !== undefined && (typeof options.studyKey !== 'string' || options.studyKey === '')) {
      throw new ExportConfigurationError('postgresSink: studyKey must be a non-empty string');
    }
  };

  const sql = async (): Promise<PostgresSql> => {
    if (connection) return connection;
    checkOptions();
    if (options.sql) {
      connection = options.sql;
    } else {
      const factory = await loadPostgres();
      // Notices ("already exists, skipping") are not the user's concern; the sink says what matters.
      connection = factory(options.url!, { onnotice: () => undefined, max: 2 }) as unknown as PostgresSql;
      owned = true;
    }
    return connection;
  };

  /**
   * Runs the queries of open (`setup`: every failure is a configuration error, nothing is written
   * yet) or of the manifest (connection problems are configuration errors).
   */
  const query = async <T>(what: string, run: (db: PostgresSql) => Promise<T>, setup = false): Promise<T> => {
    try {
      return await run(await sql());
    } catch (error) {
      if (error instanceof ExportConfigurationError) throw error;
      const safe = safeError(error, secrets, what);
      if (setup || isConnectionSetting(error)) {
        // The cause is the safe copy: its code (ECONNREFUSED, 28P01) without the original's values.
        throw new ExportConfigurationError(`${safe.message} (check the connection settings)`, {
          cause: safe,
        });
      }
      throw safe;
    }
  };

  const manifestQualified = () => `${quote(schema)}.${quote(manifestName)}`;
  const sinkIdentity = prefix;

  const ensureSchema = (db: PostgresSql) =>
    // Created only when missing: CREATE SCHEMA IF NOT EXISTS still needs the right to create one.
    db`select 1 from pg_namespace where nspname = ${schema}`.then(async (found) => {
      if (found.length === 0) await db.unsafe(`create schema if not exists ${quote(schema)}`);
    });

  const ensureManifestTable = async (db: PostgresSql) => {
    if (manifestReady) return;
    await ensureSchema(db);
    await db.unsafe(
      `create table if not exists ${manifestQualified()} (study_key text not null, sink text not null, ` +
        'manifest jsonb not null, updated_at timestamptz not null default now(), primary key (study_key, sink))',
    );
    manifestReady = true;
  };

  /** The study whose manifest load/clear mean, when known. */
  const knownStudy = () => options.studyKey ?? openedStudy;

  /** The manifests of this sink (one study's when known), or none when the table is missing. */
  const manifests = async (
    db: PostgresSql,
    study = knownStudy(),
  ): Promise<Array<{ study: string; manifest: Manifest }>> => {
    const [exists] = await db`select to_regclass(${manifestQualified()}) as name`;
    if (!exists?.name) return [];
    const where = study === undefined ? 'sink = $1' : 'sink = $1 and study_key = $2';
    // Aliases without underscores: a connection set to transform column names leaves them alone.
    const rows = await db.unsafe(
      `select study_key as study, manifest from ${manifestQualified()} where ${where}`,
      study === undefined ? [sinkIdentity] : [sinkIdentity, study],
    );
    return rows as unknown as Array<{ study: string; manifest: Manifest }>;
  };

  const single = (rows: Array<{ study: string }>) => {
    if (rows.length > 1) {
      throw new ExportConfigurationError(
        `postgresSink: the manifest table holds exports of ${rows.length} studies for these tables; pass studyKey to postgresSink to say which`,
      );
    }
    return rows[0];
  };

  /**
   * A manifest operation. Outside an export's open..close (before it opens, or the completion the
   * runner records after close), its connection is ended after it: a closed sink holds nothing
   * open, so the process can exit.
   */
  const standalone = async <T>(operation: Promise<T>): Promise<T> => {
    try {
      return await operation;
    } finally {
      if (!active) await release().catch(() => undefined);
    }
  };

  const manifest: ManifestStore = {
    load: (studyKey?: string) =>
      standalone(
        query('reading the manifest', async (db) => {
          const row = single(await manifests(db, studyKey ?? knownStudy())) as
            | { manifest: Manifest }
            | undefined;
          return row?.manifest;
        }),
      ),
    save: (value: Manifest) =>
      standalone(
        query('saving the manifest', async (db) => {
          await ensureManifestTable(db);
          // One statement: PostgreSQL keeps the old manifest or the new one, never a mix.
          await db.unsafe(
            `insert into ${manifestQualified()} (study_key, sink, manifest) values ($1, $2, $3::jsonb) ` +
              'on conflict (study_key, sink) do update set manifest = excluded.manifest, updated_at = now()',
            [value.studyKey, sinkIdentity, db.json(value as unknown as postgres.JSONValue)],
          );
        }),
      ),
    clear: (studyKey?: string) =>
      standalone(
        query('clearing the manifest', async (db) => {
          const row = single(await manifests(db, studyKey ?? knownStudy()));
          if (!row) return;
          await db.unsafe(`delete from ${manifestQualified()} where sink = $1 and study_key = $2`, [
            sinkIdentity,
            row.study,
          ]);
        }),
      ),
  };

  /**
   * Whether a table is missing (true), or, when it exists, that it has the columns and key the sink
   * writes (false); anything else is a configuration error naming the table and the differences.
   */
  const isMissing = async (db: PostgresSql, table: PgTable): Promise<boolean> => {
    const found = await db<{ name: string; type: string }[]>`
      select column_name as name, data_type as type from information_schema.columns
      where table_schema = ${schema} and table_name = ${table.name} order by ordinal_position`;
    if (found.length === 0) return true;
    const have = new Map(found.map((c) => [c.name, c.type]));
    const want = new Map(table.columns.map((c) => [c.name, c.type]));
    const differences: string[] = [];
    for (const [name, type] of want) {
      const actual = have.get(name);
      if (actual === undefined) differences.push(`${JSON.stringify(name)} missing (${type})`);
      else if (actual !== type) differences.push(`${JSON.stringify(name)} is ${actual}, not ${type}`);
    }
    for (const name of have.keys())
      if (!want.has(name)) differences.push(`${JSON.stringify(name)} not written by this export`);
    const keyRows = await db<{ name: string }[]>`
      select a.attname as name from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = to_regclass(${table.qualified}) and i.indisprimary`;
    const key = keyRows.map((r) => r.name).sort();
    if (key.join('\0') !== [...table.key].sort().join('\0')) {
      differences.push(`primary key (${key.join(', ') || 'none'}), not (${table.key.join(', ')})`);
    }
    if (differences.length > 0) {
      throw new ExportConfigurationError(
        `postgresSink: table ${schema}.${table.name} exists with other columns: ${differences.join('; ')}. Drop it, or export to another schema or tablePrefix`,
      );
    }
    return false;
  };

  const createTable = async (db: PostgresSql, table: PgTable) => {
    const columns = table.columns.map(
      (c) => `${quote(c.name)} ${c.type}${table.key.includes(c.name) ? ' not null' : ''}`,
    );
    await db.unsafe(
      `create table if not exists ${table.qualified} (${columns.join(', ')}, primary key (${table.key.map(quote).join(', ')}))`,
    );
  };

  const release = async () => {
    const db = connection;
    connection = undefined;
    manifestReady = false;
    if (db && owned) await db.end({ timeout: 5 });
  };

  return {
    kind: 'postgres',
    manifest,
    async open(context: SinkOpenContext) {
      checkOptions();
      active = true;
      if (options.studyKey !== undefined && options.studyKey !== context.studyKey) {
        throw new ExportConfigurationError(
          `postgresSink: this sink was made for study ${options.studyKey}, not ${context.studyKey}`,
        );
      }
      tables.clear();
      byName.clear();
      // Every name is checked before anything is created.
      for (const spec of context.tables) {
        const table = planTable(spec, schema, prefix, jsonb);
        if (byName.has(table.name)) {
          throw new ExportConfigurationError(`postgresSink: two tables would be named ${table.name}`);
        }
        tables.set(spec, table);
        byName.set(table.name, table);
      }
      await query(
        'preparing the tables',
        async (db) => {
          // Every existing table is checked before any is created: a refusal leaves the database as it was.
          const missing: PgTable[] = [];
          for (const table of tables.values()) if (await isMissing(db, table)) missing.push(table);
          await ensureSchema(db);
          for (const table of missing) await createTable(db, table);
          await ensureManifestTable(db);
        },
        true,
      );
      openedStudy = context.studyKey;
    },
    async writeBatch(batch: RowBatch, batchId: string) {
      const table = tables.get(batch.table) ?? byName.get(`${prefix}${batch.table.name}`);
      if (!table || openedStudy === undefined) {
        throw new ExportConfigurationError(
          `postgresSink: batch ${batchId} is of a table the sink was not opened with`,
        );
      }
      if (batch.rows.length === 0) return undefined;
      const db = await sql();
      try {
        await db.unsafe(table.upsert, [openedStudy, ...columnArrays(table, batch)]);
      } catch (error) {
        // Thrown for the runner to retry (a reset connection), never with the batch's values.
        throw safeError(error, secrets, `writing batch ${batchId}`);
      }
      return undefined;
    },
    async flush() {
      return undefined;
    },
    async close() {
      active = false;
      await release();
      return undefined;
    },
    async abort() {
      active = false;
      await release();
    },
  };
}
