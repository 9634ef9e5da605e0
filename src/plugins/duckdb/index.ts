/**
 * `imednet/plugins/duckdb`: a study's records in DuckDB-WASM, for SQL over a whole study on your
 * own machine with no server. Records become typed Arrow record batches per form (from the record
 * mapper's rows) and are streamed into DuckDB batch by batch; queries answer Arrow tables or plain
 * rows. `@duckdb/duckdb-wasm` and `apache-arrow` are optional peer dependencies, loaded at first
 * use: this entry loads in any runtime without them.
 *
 * @example
 * import { Imednet } from 'imednet';
 * import { openStudyDatabase } from 'imednet/plugins/duckdb';
 *
 * const client = new Imednet({ apiKey, securityKey });
 * await using db = openStudyDatabase();
 * await db.loadStudy(client, 'MYSTUDY');
 * const perSite = await db.query('SELECT siteName, count(*) AS n FROM "AE" GROUP BY siteName');
 */
export { rowBatchToArrow, rowBatchToArrowIPC } from './arrow.js';
export type { DuckdbBundle, DuckdbBundles } from './bundles.js';
export {
  type CachedStudy,
  type LoadCacheOptions,
  type LoadParquetOptions,
  type LoadProgress,
  type LoadRowsOptions,
  type LoadStudyOptions,
  type LoadSummary,
  openStudyDatabase,
  type QueryParam,
  quoteIdentifier,
  StudyDatabase,
  type StudyDatabaseOptions,
} from './database.js';
export { StudyDatabaseError } from './errors.js';
export type { DatabaseExportOptions } from './export.js';
export {
  type CompareWithListingOptions,
  CURRENT_RECORDS_VIEW,
  compareWithListing,
  type HistoryComparison,
  type HistoryDifference,
  type HistoryLoadSummary,
  type LoadHistoryOptions,
  loadHistory,
  REVISIONS_TABLE,
} from './history.js';
export type { ParquetFile } from './parquet.js';
export {
  type FieldProfile,
  type FormProfile,
  type IntervalCompleteness,
  type ProfileOptions,
  profileStudy,
  profileToArrow,
  type SiteCompleteness,
  type StudyProfile,
  type StudyProfileArrow,
  type ValueCount,
} from './profile.js';
