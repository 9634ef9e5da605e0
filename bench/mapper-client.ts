/**
 * The client side of bench/mapper, run in a fresh process (bundled to plain JavaScript) so that its
 * peak RSS is its own. `--mode list` streams every record with `client.records.list`; `--mode rows`
 * streams the same records through the record mapper (`client.workflows.rows`, every form, typed
 * values) and counts the rows. Prints one JSON line.
 *
 *   node bench/results/mapper-client.mjs --url http://127.0.0.1:1234 --study BENCH --records 1000000 --mode rows
 */
import { Imednet } from '../src/index.js';
import { workflows } from '../src/plugins/workflows/index.js';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY } from '../src/testing/index.js';
import { option, requiredOption } from './args.js';
import { PAGE_SIZE } from './lib.js';

const url = requiredOption('url');
const studyKey = requiredOption('study');
const expected = Number(requiredOption('records'));
const mode = option('mode') ?? 'rows';

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
let peakHeapUsed = 0;
const sampler = setInterval(() => {
  peakHeapUsed = Math.max(peakHeapUsed, process.memoryUsage().heapUsed);
}, 10);

const Client = Imednet.plugin(workflows());
const client = new Client({ apiKey: DEFAULT_API_KEY, securityKey: DEFAULT_SECURITY_KEY, baseUrl: url });
const t0 = performance.now();
const cpu0 = process.cpuUsage();
let records = 0;
let cells = 0;
let batches = 0;
if (mode === 'list') {
  // Nothing but the iteration: the baseline is the plain listing itself.
  for await (const _record of client.records.list(studyKey, { pageSize: PAGE_SIZE })) records++;
} else if (mode === 'rows') {
  for await (const batch of client.workflows.rows(studyKey, { pageSize: PAGE_SIZE })) {
    batches++;
    records += batch.rows.length;
    cells += batch.rows.length * batch.table.columns.length;
  }
} else {
  throw new Error(`--mode must be list or rows (got ${mode})`);
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
if (records !== expected) throw new Error(`${mode}: ${records} records, expected exactly ${expected}`);
process.stdout.write(
  `${JSON.stringify({
    mode,
    records,
    cells,
    batches,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMB: mb(process.resourceUsage().maxRSS * 1024),
    peakHeapUsedMB: mb(peakHeapUsed),
  })}\n`,
);
