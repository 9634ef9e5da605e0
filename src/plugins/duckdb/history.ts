/**
 * Bronze/silver history of a study's records in DuckDB: the API's record revisions appended as
 * they are to a bronze table (append-only; each load asks only for revisions past the last one
 * stored), and a silver view of each record's current state rebuilt from bronze alone, which
 * {@link compareWithListing} checks against the records listing.
 *
 * Revisions are fetched after the highest `recordRevisionId` stored, in `recordRevisionId` order:
 * the API sorts on that id by default and numbers revisions in the order it makes them, whereas a
 * revision's `dateCreated` only has one-second resolution (two revisions in the same second
 * would fall either side of a `>` or both inside a `>=`).
 */
import type { Imednet } from '../../client.js';
import { parseApiDate } from '../../core/dates.js';
import { ConfigurationError } from '../../core/errors.js';
import type { RecordRevision } from '../../endpoints/record-revisions.js';
import type { Row, RowBatch, TableSpec } from '../workflows/tables.js';
import { quoteIdentifier, type StudyDatabase } from './database.js';

/** The bronze table: one row per record revision, as the API sent it. */
export const REVISIONS_TABLE = 'record_revisions';
/** The silver view: one row per record, its state after its latest revision. */
export const CURRENT_RECORDS_VIEW = 'records_current';
/** Where a load's revisions wait before they join bronze (replaced by each load). */
const STAGING_TABLE = 'record_revisions_incoming';

/**
 * Options of {@link loadHistory}.
 * @example { schema: 'history', pageSize: 500, after: 0 }
 */
export interface LoadHistoryOptions {
  /** The DuckDB schema holding the bronze table and the silver view (default `main`; created when missing). */
  schema?: string;
  /**
   * Fetch revisions after this `recordRevisionId` instead of after the highest one stored: to
   * re-read a stretch of history. Revisions already stored are kept as they are, never doubled.
   */
  after?: number;
  /** Revisions per request, 1..500 (default: the client's `pageSize`). */
  pageSize?: number;
  /** Rows per batch sent to DuckDB (default 5,000). */
  batchSize?: number;
  /** Stops the load; what it had fetched is not stored. */
  signal?: AbortSignal;
}

/** What a {@link loadHistory} call did. */
export interface HistoryLoadSummary {
  /** The DuckDB schema of the bronze table and the silver view. */
  schema: string;
  /** The `recordRevisionId` the fetch started after (null: from the first revision). */
  after: number | null;
  /** Revisions the API sent. */
  fetched: number;
  /** Of those, revisions new to bronze. */
  appended: number;
  /** Revisions of the study in bronze now. */
  revisions: number;
  /** The highest `recordRevisionId` of the study in bronze now (null: none). */
  lastRevisionId: number | null;
  /** Milliseconds the load took. */
  ms: number;
}

/** Options of {@link compareWithListing}. */
export interface CompareWithListingOptions {
  /** The schema {@link loadHistory} used (default `main`). */
  schema?: string;
  /** Aborts the listing. */
  signal?: AbortSignal;
}

/** A field where silver and the records listing disagree. */
export interface HistoryDifference {
  recordId: number;
  field: (typeof COMPARED_FIELDS)[number];
  /** The value in `records_current`. */
  current: unknown;
  /** The value in the records listing. */
  listed: unknown;
}

/**
 * How `records_current` stands against the records listing. Hard-deleted records are gone from
 * the listing, but their last revision says only `deleted: true`, as a soft delete's does: silver
 * keeps them, marked deleted, and they are counted apart instead of as differences.
 */
export interface HistoryComparison {
  /** True when every listed record is in silver with the same values, and nothing else is, but deleted records. */
  equal: boolean;
  /** Records the listing holds. */
  listed: number;
  /** Records silver holds. */
  current: number;
  /** Listed records silver lacks. */
  missing: number[];
  /** Records silver holds as not deleted that the listing lacks. */
  unexpected: number[];
  /** Records silver holds as deleted that the listing lacks: hard-deleted. */
  hardDeleted: number[];
  /** Field values that differ, by record. */
  differences: HistoryDifference[];
}

/** The revision fields bronze keeps, with their column types. */
const REVISION_COLUMNS = [
  ['studyKey', 'text'],
  ['recordRevisionId', 'integer'],
  ['recordId', 'integer'],
  ['recordOid', 'text'],
  ['recordRevision', 'integer'],
  ['dataRevision', 'integer'],
  ['recordStatus', 'text'],
  ['subjectId', 'integer'],
  ['subjectOid', 'text'],
  ['subjectKey', 'text'],
  ['siteId', 'integer'],
  ['formKey', 'text'],
  ['intervalId', 'integer'],
  ['role', 'text'],
  ['user', 'text'],
  ['reasonForChange', 'text'],
  ['deleted', 'boolean'],
  ['dateCreated', 'datetime'],
] as const satisfies readonly (readonly [
  keyof RecordRevision,
  'text' | 'integer' | 'boolean' | 'datetime',
])[];

/**
 * Times are a plain `TIMESTAMP` holding UTC, as in the study's tables: DuckDB-WASM works on a
 * `TIMESTAMP WITH TIME ZONE` only with its ICU extension, which it would download.
 */
const SQL_TYPES = { text: 'VARCHAR', integer: 'BIGINT', boolean: 'BOOLEAN', datetime: 'TIMESTAMP' };

const STAGING_SPEC: TableSpec = {
  name: STAGING_TABLE,
  columns: REVISION_COLUMNS.map(([name, type]) => ({ name, type, kind: 'record' as const })),
};

/** The fields silver shares with the records listing, compared by {@link compareWithListing}. */
const COMPARED_FIELDS = [
  'recordOid',
  'formKey',
  'siteId',
  'subjectId',
  'subjectOid',
  'subjectKey',
  'intervalId',
  'recordStatus',
  'deleted',
  'dateModified',
] as const;

const columnList = REVISION_COLUMNS.map(([name]) => quoteIdentifier(name)).join(', ');

/** One load at a time per database: they share the staging table and the watermark. */
const running = new WeakMap<StudyDatabase, Promise<unknown>>();

function serial<T>(db: StudyDatabase, work: () => Promise<T>): Promise<T> {
  const result = (running.get(db) ?? Promise.resolve()).then(work);
  running.set(
    db,
    result.catch(() => {}),
  );
  return result;
}

function schemaOption(schema: string | undefined): string {
  const name = schema ?? 'main';
  if (typeof name !== 'string' || name.length === 0) {
    throw new ConfigurationError('schema must be a non-empty string');
  }
  return name;
}

/** Creates bronze and silver when missing. */
async function ensureHistory(db: StudyDatabase, schema: string): Promise<void> {
  const s = quoteIdentifier(schema);
  const columns = REVISION_COLUMNS.map(([name, type]) => `${quoteIdentifier(name)} ${SQL_TYPES[type]}`);
  await db.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
  // The key is what makes bronze append-only without doubles: a revision stored is never replaced.
  await db.query(
    `CREATE TABLE IF NOT EXISTS ${s}.${REVISIONS_TABLE} (${columns.join(', ')}, "loadedAt" TIMESTAMP NOT NULL, PRIMARY KEY ("studyKey", "recordRevisionId"))`,
  );
  // A record's latest revision is its highest recordRevision (the record's own counter), the
  // revision id breaking a tie. Its dateCreated is when the record last changed: its dateModified.
  await db.query(
    `CREATE OR REPLACE VIEW ${s}.${CURRENT_RECORDS_VIEW} AS
     SELECT "studyKey", "recordId", "recordOid", "formKey", "siteId", "subjectId", "subjectOid",
            "subjectKey", "intervalId", "recordStatus", coalesce("deleted", false) AS "deleted",
            "recordRevision", "dataRevision", "recordRevisionId" AS "lastRevisionId",
            "dateCreated" AS "dateModified", "firstRevisionAt", "revisions"
     FROM (
       SELECT *,
              min("dateCreated") OVER record AS "firstRevisionAt",
              count(*) OVER record AS "revisions",
              row_number() OVER (record ORDER BY "recordRevision" DESC NULLS LAST, "recordRevisionId" DESC) AS "latest"
       FROM ${s}.${REVISIONS_TABLE}
       WINDOW record AS (PARTITION BY "studyKey", "recordId")
     )
     WHERE "latest" = 1`,
  );
}

async function stored(
  db: StudyDatabase,
  schema: string,
  studyKey: string,
): Promise<{ n: number; last: number | null }> {
  const [row] = await db.query<{ n: number; last: number | null }>(
    `SELECT count(*) AS n, max("recordRevisionId") AS last FROM ${quoteIdentifier(schema)}.${REVISIONS_TABLE} WHERE "studyKey" = ?`,
    [studyKey],
  );
  return { n: Number(row?.n ?? 0), last: row?.last ?? null };
}

function toRow(revision: RecordRevision): Row {
  const row: Row = {};
  for (const [name, type] of REVISION_COLUMNS) {
    const value = revision[name] ?? null;
    row[name] = type === 'datetime' ? (parseApiDate(value as string | null) ?? null) : (value as Row[string]);
  }
  return row;
}

async function* revisionBatches(
  client: Imednet,
  studyKey: string,
  after: number | null,
  options: LoadHistoryOptions,
  counted: { fetched: number },
): AsyncGenerator<RowBatch> {
  const size = options.batchSize ?? 5000;
  const listing = client.recordRevisions.list(studyKey, {
    ...(after !== null ? { filter: { recordRevisionId: { gt: after } } } : {}),
    sort: 'recordRevisionId',
    ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let rows: Row[] = [];
  for await (const revision of listing) {
    counted.fetched++;
    rows.push(toRow(revision));
    if (rows.length >= size) {
      yield { table: STAGING_SPEC, rows };
      rows = [];
    }
  }
  if (rows.length > 0) yield { table: STAGING_SPEC, rows };
}

/**
 * Appends a study's new record revisions to the bronze table `record_revisions` and keeps the
 * silver view `records_current` over it. The first call fetches every revision; later calls only
 * those after the highest `recordRevisionId` stored for the study. A revision is stored once,
 * never changed: bronze is the audit trail as the API told it, across loads, each row with the
 * time it was stored (`loadedAt`, UTC). Calls on one database run one after another.
 * @example
 * await using db = openStudyDatabase();
 * const first = await loadHistory(db, client, 'MYSTUDY');
 * // ...later: only what changed since
 * const next = await loadHistory(db, client, 'MYSTUDY');
 * console.log(`${next.appended} new revisions, ${next.revisions} in all`);
 * const deleted = await db.query('SELECT "recordId", "dateModified" FROM records_current WHERE deleted');
 */
export async function loadHistory(
  db: StudyDatabase,
  client: Imednet,
  studyKey: string,
  options: LoadHistoryOptions = {},
): Promise<HistoryLoadSummary> {
  // Checked before the first await: the load still takes its place in line at the call.
  const schema = schemaOption(options.schema);
  if (typeof studyKey !== 'string' || studyKey.length === 0) {
    throw new ConfigurationError('loadHistory: give the study key');
  }
  if (options.after !== undefined && !Number.isInteger(options.after)) {
    throw new ConfigurationError('after must be an integer recordRevisionId');
  }
  if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize > 0)) {
    throw new ConfigurationError('batchSize must be a positive integer');
  }
  return serial(db, async () => {
    const started = performance.now();
    await ensureHistory(db, schema);
    const before = await stored(db, schema, studyKey);
    const after = options.after ?? before.last;
    const counted = { fetched: 0 };
    // Staged first, in loadRows' one transaction: an abort or failure mid-fetch leaves bronze as it was.
    await db.loadRows(revisionBatches(client, studyKey, after, options, counted), {
      tables: [STAGING_SPEC],
      schema,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const s = quoteIdentifier(schema);
    try {
      // One statement: all of the load joins bronze or none of it. A revision the API sent twice
      // (a page that shifted) or that is already stored is left out.
      await db.query(
        `INSERT OR IGNORE INTO ${s}.${REVISIONS_TABLE} (${columnList}, "loadedAt")
         SELECT ${columnList}, CAST(? AS TIMESTAMP) FROM ${s}.${STAGING_TABLE}
         WHERE "studyKey" = ?
         QUALIFY row_number() OVER (PARTITION BY "recordRevisionId" ORDER BY "recordRevisionId") = 1`,
        [new Date().toISOString().slice(0, 23).replace('T', ' '), studyKey],
      );
    } finally {
      await db.query(`DROP TABLE IF EXISTS ${s}.${STAGING_TABLE}`).catch(() => {});
    }
    const now = await stored(db, schema, studyKey);
    return {
      schema,
      after,
      fetched: counted.fetched,
      appended: now.n - before.n,
      revisions: now.n,
      lastRevisionId: now.last,
      ms: Math.round(performance.now() - started),
    };
  });
}

const normal = (field: (typeof COMPARED_FIELDS)[number], value: unknown): unknown => {
  if (value === undefined || value === null) return field === 'deleted' ? false : null;
  if (field === 'dateModified') {
    const date = value instanceof Date ? value : parseApiDate(String(value));
    return date ? date.getTime() : String(value);
  }
  return value;
};

/**
 * Checks the silver view `records_current` against the records listing (fetched now): the same
 * records with the same identifiers, form, site, subject, interval, status, deleted flag and
 * `dateModified`. Records hard-deleted since they were loaded are reported apart (see
 * {@link HistoryComparison}).
 * @example
 * await using db = openStudyDatabase();
 * await loadHistory(db, client, 'MYSTUDY');
 * const check = await compareWithListing(db, client, 'MYSTUDY');
 * if (!check.equal) console.log(check.missing, check.unexpected, check.differences.slice(0, 10));
 */
export async function compareWithListing(
  db: StudyDatabase,
  client: Imednet,
  studyKey: string,
  options: CompareWithListingOptions = {},
): Promise<HistoryComparison> {
  const schema = schemaOption(options.schema);
  const current = await db.query<Record<string, unknown> & { recordId: number; deleted: boolean }>(
    `SELECT * FROM ${quoteIdentifier(schema)}.${CURRENT_RECORDS_VIEW} WHERE "studyKey" = ? ORDER BY "recordId"`,
    [studyKey],
  );
  const byId = new Map(current.map((row) => [row.recordId, row]));
  const seen = new Set<number>();
  const comparison: HistoryComparison = {
    equal: false,
    listed: 0,
    current: current.length,
    missing: [],
    unexpected: [],
    hardDeleted: [],
    differences: [],
  };
  const listing = client.records.list(studyKey, options.signal ? { signal: options.signal } : {});
  for await (const record of listing) {
    comparison.listed++;
    seen.add(record.recordId);
    const row = byId.get(record.recordId);
    if (!row) {
      comparison.missing.push(record.recordId);
      continue;
    }
    for (const field of COMPARED_FIELDS) {
      const a = normal(field, row[field]);
      const b = normal(field, (record as Record<string, unknown>)[field]);
      if (a !== b) comparison.differences.push({ recordId: record.recordId, field, current: a, listed: b });
    }
  }
  for (const row of current) {
    if (seen.has(row.recordId)) continue;
    (row.deleted ? comparison.hardDeleted : comparison.unexpected).push(row.recordId);
  }
  comparison.equal =
    comparison.missing.length === 0 &&
    comparison.unexpected.length === 0 &&
    comparison.differences.length === 0;
  return comparison;
}
