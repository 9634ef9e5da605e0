/**
 * The client side of bench/export, run in a fresh process (bundled to plain JavaScript) so that its
 * peak RSS is its own. `--mode list` streams every record with `client.records.list`; `--mode csv`,
 * `ndjson`, `parquet`, `xlsx` or `duckdb` exports the study through the record mapper to that sink,
 * into `--out` (duckdb: `<out>/bench.duckdb`).
 * Prints one JSON line.
 *
 *   node bench/results/export-client.mjs --url http://127.0.0.1:1234 --study BENCH --records 1000000 --mode csv --out /tmp/x
 *                                        [--row-group-size N] [--max-buffered-rows M]   (parquet)
 */
import { statSync } from 'node:fs';
import { Imednet } from '../src/index.js';
import { csvSink } from '../src/plugins/sinks/csv.js';
import { duckdbSink } from '../src/plugins/sinks/duckdb.js';
import { type ExportSink, exportStudy } from '../src/plugins/sinks/index.js';
import { ndjsonSink } from '../src/plugins/sinks/json.js';
import { nodeDirectory } from '../src/plugins/sinks/node.js';
import { parquetSink } from '../src/plugins/sinks/parquet.js';
import { xlsxSink } from '../src/plugins/sinks/xlsx.js';
import { workflows } from '../src/plugins/workflows/index.js';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY } from '../src/testing/index.js';
import { option, requiredOption } from './args.js';
import { PAGE_SIZE } from './lib.js';

const url = requiredOption('url');
const studyKey = requiredOption('study');
const expected = Number(requiredOption('records'));
const mode = requiredOption('mode');

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const client = new (Imednet.plugin(workflows()))({
  apiKey: DEFAULT_API_KEY,
  securityKey: DEFAULT_SECURITY_KEY,
  baseUrl: url,
});
const t0 = performance.now();
const cpu0 = process.cpuUsage();
let records = 0;
let bytes = 0;
if (mode === 'list') {
  for await (const _record of client.records.list(studyKey, { pageSize: PAGE_SIZE })) records++;
} else {
  const directory = nodeDirectory(requiredOption('out'));
  const sinks: Record<string, () => ExportSink> = {
    csv: () => csvSink({ directory }),
    ndjson: () => ndjsonSink({ directory }),
    parquet: () => {
      const rowGroupSize = option('row-group-size');
      const maxBufferedRows = option('max-buffered-rows');
      return parquetSink({
        directory,
        ...(rowGroupSize ? { rowGroupSize: Number(rowGroupSize) } : {}),
        ...(maxBufferedRows ? { maxBufferedRows: Number(maxBufferedRows) } : {}),
      });
    },
  };
  const databaseFile = `${requiredOption('out')}/bench.duckdb`;
  sinks.xlsx = () => xlsxSink({ directory });
  sinks.duckdb = () => duckdbSink({ path: databaseFile });
  const make = sinks[mode];
  if (!make) throw new Error(`--mode must be list, csv, ndjson, parquet, xlsx or duckdb (got ${mode})`);
  const summary = await exportStudy(client, studyKey, make(), { pageSize: PAGE_SIZE });
  records = summary.rows;
  // A database reports no bytes of its own: the file's size once closed.
  bytes = mode === 'duckdb' ? statSync(databaseFile).size : summary.bytes;
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
if (records !== expected) throw new Error(`${mode}: ${records} records, expected exactly ${expected}`);
process.stdout.write(
  `${JSON.stringify({
    mode,
    records,
    bytes,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMB: mb(process.resourceUsage().maxRSS * 1024),
  })}\n`,
);
