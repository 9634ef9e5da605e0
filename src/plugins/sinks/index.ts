/**
 * `imednet/plugins/sinks`: export a study's rows to a destination, resumably. The runner
 * (`exportStudy`, `exportRows`), the sink contract, the output directories and the export errors;
 * each sink is its own entry: `imednet/plugins/sinks/csv` (CSV), `imednet/plugins/sinks/json`
 * (NDJSON and JSON), `imednet/plugins/sinks/parquet` (Parquet, with the optional `hyparquet-writer`)
 * and `imednet/plugins/sinks/postgres` (PostgreSQL, with the optional `postgres`). Files go to
 * `memoryDirectory()` (here) or to `nodeDirectory(path)` from `imednet/plugins/sinks/node`.
 *
 * @example
 * import { Imednet } from 'imednet';
 * import { workflows } from 'imednet/plugins/workflows';
 * import { exportStudy } from 'imednet/plugins/sinks';
 * import { nodeDirectory } from 'imednet/plugins/sinks/node';
 * import { csvSink } from 'imednet/plugins/sinks/csv';
 *
 * const client = new (Imednet.plugin(workflows()))({ apiKey, securityKey });
 * const summary = await exportStudy(client, 'MYSTUDY', csvSink({ directory: nodeDirectory('./export') }));
 * console.log(`${summary.rows} rows in ${summary.tables.length} files`);
 */
export { canonicalBytes, jsonCell, ndjson, sha256Hex } from './canonical.js';
export {
  checkFileName,
  fileManifest,
  type MemoryDirectory,
  memoryDirectory,
  type OutputDirectory,
  type OutputFile,
} from './directory.js';
export { ExportBatchError, ExportConfigurationError } from './errors.js';
export {
  type ExportProgress,
  type ExportRowsOptions,
  type ExportRunOptions,
  type ExportSummary,
  exportRows,
  exportStudy,
  type WorkflowsClient,
} from './export.js';
export { type TextFileSinkOptions, type TextFormat, textFileSink } from './text-files.js';
export type {
  ExportSink,
  Manifest,
  ManifestEntry,
  ManifestStore,
  SinkOpenContext,
} from './types.js';
