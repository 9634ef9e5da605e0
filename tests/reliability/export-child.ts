/**
 * An export process for the reliability tests: exports one study from a mock server through the
 * workflows plugin to one sink and prints one JSON line per batch on stdout. Usage:
 *   node --import tsx tests/reliability/export-child.ts <baseUrl> <studyKey> <csv|ndjson|json|parquet|postgres> <directory or database url>
 * Exit code 0 when the export finished; 1 with the error on stderr otherwise.
 */
import { Imednet } from '../../src/client.js';
import { csvSink } from '../../src/plugins/sinks/csv.js';
import { type ExportSink, exportStudy } from '../../src/plugins/sinks/index.js';
import { jsonSink, ndjsonSink } from '../../src/plugins/sinks/json.js';
import { nodeDirectory } from '../../src/plugins/sinks/node.js';
import { parquetSink } from '../../src/plugins/sinks/parquet.js';
import { postgresSink } from '../../src/plugins/sinks/postgres.js';
import { workflows } from '../../src/plugins/workflows/index.js';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY } from '../../src/testing/index.js';

const [baseUrl, studyKey, kind, target] = process.argv.slice(2);
if (!baseUrl || !studyKey || !kind || !target) {
  process.stderr.write('usage: export-child.ts <baseUrl> <studyKey> <sink> <directory or url>\n');
  process.exit(2);
}
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const sinks: Record<string, () => ExportSink> = {
  csv: () => csvSink({ directory: nodeDirectory(target) }),
  ndjson: () => ndjsonSink({ directory: nodeDirectory(target) }),
  json: () => jsonSink({ directory: nodeDirectory(target) }),
  // Small parts, so that the run is killed with some parts finished and one being written.
  parquet: () => parquetSink({ directory: nodeDirectory(target), layout: 'hive', rowsPerFile: 400 }),
  postgres: () => postgresSink({ url: target }),
};
const client = new (Imednet.plugin(workflows()))({
  apiKey: DEFAULT_API_KEY,
  securityKey: DEFAULT_SECURITY_KEY,
  baseUrl,
});
try {
  say({ event: 'ready', pid: process.pid });
  const summary = await exportStudy(client, studyKey, sinks[kind]!(), {
    batchSize: 100,
    checkpointEvery: 2,
    onProgress: (p) => say({ event: 'batch', rows: p.rows, skipped: p.skippedRows }),
  });
  say({ event: 'done', rows: summary.rows, skipped: summary.skippedRows, resumed: summary.resumed });
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
  process.exit(1);
}
