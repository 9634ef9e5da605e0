/**
 * An export process for the reliability tests: exports one study from a mock server through the
 * workflows plugin to one sink and prints one JSON line per batch on stdout. Usage:
 *   node --import tsx tests/reliability/export-child.ts <baseUrl> <studyKey> <sink> <target>
 * where <sink> is csv, ndjson, json, parquet or xlsx (target: a directory), duckdb (a database
 * file), postgres (a database url) or s3 (CSV through s3Directory; target `<endpoint>/<bucket>/<prefix>`,
 * the key pair in IMEDNET_TEST_S3_ACCESS_KEY_ID and IMEDNET_TEST_S3_SECRET_ACCESS_KEY, never argv,
 * which `ps` shows).
 * Exit code 0 when the export finished; 1 with the error on stderr otherwise.
 */
import { writeSync } from 'node:fs';
import { Imednet } from '../../src/client.js';
import { csvSink } from '../../src/plugins/sinks/csv.js';
import { duckdbSink } from '../../src/plugins/sinks/duckdb.js';
import { type ExportSink, exportStudy } from '../../src/plugins/sinks/index.js';
import { jsonSink, ndjsonSink } from '../../src/plugins/sinks/json.js';
import { nodeDirectory } from '../../src/plugins/sinks/node.js';
import { parquetSink } from '../../src/plugins/sinks/parquet.js';
import { postgresSink } from '../../src/plugins/sinks/postgres.js';
import { s3Directory } from '../../src/plugins/sinks/s3.js';
import { xlsxSink } from '../../src/plugins/sinks/xlsx.js';
import { workflows } from '../../src/plugins/workflows/index.js';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY } from '../../src/testing/index.js';

const [baseUrl, studyKey, kind, target] = process.argv.slice(2);
if (!baseUrl || !studyKey || !kind || !target) {
  process.stderr.write('usage: export-child.ts <baseUrl> <studyKey> <sink> <target>\n');
  process.exit(2);
}
// Written at once (a pipe's process.stdout.write is asynchronous): a line said is a line read,
// even when the process then freezes or is killed.
const say = (line: object) => writeSync(1, `${JSON.stringify(line)}\n`);
/**
 * IMEDNET_TEST_HOLD_AT_ROWS: once that many rows are written, the process says `held` and freezes
 * (its event loop blocked), so that a test's SIGKILL lands halfway whatever the machine's load.
 */
const holdAt = Number(process.env.IMEDNET_TEST_HOLD_AT_ROWS ?? Number.POSITIVE_INFINITY);
const hold = (rows: number) => {
  if (rows < holdAt) return;
  say({ event: 'held', rows });
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
};

/** `<endpoint>/<bucket>/<prefix>` and the key pair from the environment, as s3Directory takes them. */
function s3Target(url: string) {
  const { origin, pathname } = new URL(url);
  const [bucket = '', ...prefix] = pathname.split('/').filter(Boolean);
  return s3Directory({
    endpoint: origin,
    bucket,
    prefix: prefix.join('/'),
    accessKeyId: process.env.IMEDNET_TEST_S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: process.env.IMEDNET_TEST_S3_SECRET_ACCESS_KEY ?? '',
  });
}

const sinks: Record<string, () => ExportSink> = {
  csv: () => csvSink({ directory: nodeDirectory(target) }),
  ndjson: () => ndjsonSink({ directory: nodeDirectory(target) }),
  json: () => jsonSink({ directory: nodeDirectory(target) }),
  // Small parts, so that the run is killed with some parts finished and one being written.
  parquet: () => parquetSink({ directory: nodeDirectory(target), layout: 'hive', rowsPerFile: 400 }),
  xlsx: () => xlsxSink({ directory: nodeDirectory(target) }),
  postgres: () => postgresSink({ url: target }),
  duckdb: () => duckdbSink({ path: target }),
  s3: () => csvSink({ directory: s3Target(target) }),
};
const client = new (Imednet.plugin(workflows()))({
  apiKey: DEFAULT_API_KEY,
  securityKey: DEFAULT_SECURITY_KEY,
  baseUrl,
});
try {
  say({ event: 'ready', pid: process.pid });
  const make = sinks[kind];
  if (!make) throw new Error(`unknown sink ${kind}`);
  const summary = await exportStudy(client, studyKey, make(), {
    batchSize: 100,
    checkpointEvery: 2,
    onProgress: (p) => {
      say({ event: 'batch', rows: p.rows, skipped: p.skippedRows });
      hold(p.rows);
    },
  });
  say({ event: 'done', rows: summary.rows, skipped: summary.skippedRows, resumed: summary.resumed });
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
  process.exit(1);
}
