/**
 * bench/mapper: a 1M-record study streamed from the loopback mock (bench/server.ts, its own
 * process, rendering each page as asked) through the record mapper, beside a plain listing of the
 * same records. Targets (issue 10): wall time at most 1.3x the plain listing's, peak RSS at most
 * 250 MB. Each client runs in a fresh process (bench/mapper-client.ts bundled by esbuild), the two
 * modes alternated, medians of `--runs` runs.
 *
 *   npm run bench:mapper                        # prints a table, writes bench/results/mapper.json
 *   npm run bench:mapper -- --write-benchmarks  # also rewrites the "## Record mapper" section of BENCHMARKS.md
 *   npm run bench:mapper -- --records 200000 --runs 3
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { replaceBenchmarkSection } from '../tests/support/benchmarks-file.js';
import { flag, numberOption } from './args.js';
import { bundleClient, runClientProcess } from './clients.js';
import { BENCH_DIR, median, min, processCpuSeconds, startServerProcess } from './lib.js';

const RECORDS = numberOption('records', 1_000_000);
const RUNS = numberOption('runs', 3);
const WRITE = flag('write-benchmarks');
const WALL_TARGET = 1.3;
const RSS_TARGET_MB = 250;

interface Sample {
  mode: 'list' | 'rows';
  records: number;
  cells: number;
  batches: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMB: number;
  peakHeapUsedMB: number;
  serverCpuSeconds?: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

const runClient = (script: string, url: string, studyKey: string, mode: 'list' | 'rows') =>
  runClientProcess<Sample>(
    script,
    ['--url', url, '--study', studyKey, '--records', String(RECORDS), '--mode', mode],
    `the ${mode} client`,
  );

const script = await bundleClient('mapper-client.ts');
const server = await startServerProcess({ records: RECORDS, latencyMs: 0 });
log(`mock server pid ${server.pid}, ${RECORDS} records; ${RUNS} runs per mode after one warm-up each`);
const samples: Sample[] = [];
try {
  for (const mode of ['list', 'rows'] as const) await runClient(script, server.url, server.studyKey, mode);
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? (['list', 'rows'] as const) : (['rows', 'list'] as const);
    for (const mode of order) {
      const before = processCpuSeconds(server.pid);
      const sample = await runClient(script, server.url, server.studyKey, mode);
      const after = processCpuSeconds(server.pid);
      if (before !== undefined && after !== undefined) sample.serverCpuSeconds = after - before;
      samples.push(sample);
      log(
        `  ${mode}: ${sample.seconds.toFixed(2)} s, max RSS ${sample.maxRssMB} MB, heap ${sample.peakHeapUsedMB} MB`,
      );
    }
  }
} finally {
  await server.stop();
}

const of = (mode: 'list' | 'rows') => samples.filter((s) => s.mode === mode);
const summary = (mode: 'list' | 'rows') => {
  const s = of(mode);
  return {
    medianSeconds: median(s.map((x) => x.seconds)),
    minSeconds: min(s.map((x) => x.seconds)),
    maxSeconds: Math.max(...s.map((x) => x.seconds)),
    medianCpuSeconds: median(s.map((x) => x.cpuSeconds)),
    medianServerCpuSeconds: median(s.map((x) => x.serverCpuSeconds ?? Number.NaN)),
    maxRssMB: Math.max(...s.map((x) => x.maxRssMB)),
    peakHeapUsedMB: Math.max(...s.map((x) => x.peakHeapUsedMB)),
    cells: s[0]!.cells,
    batches: s[0]!.batches,
  };
};
const list = summary('list');
const rows = summary('rows');
const ratio = rows.medianSeconds / list.medianSeconds;
const targets = [
  {
    target: `wall time at most ${WALL_TARGET}x the plain listing`,
    figure: `${ratio.toFixed(2)}x`,
    met: ratio <= WALL_TARGET,
  },
  {
    target: `peak RSS at most ${RSS_TARGET_MB} MB`,
    figure: `${rows.maxRssMB} MB`,
    met: rows.maxRssMB <= RSS_TARGET_MB,
  },
];

const n = (x: number, digits = 2) => x.toFixed(digits);
const md = `## Record mapper

\`npm run bench:mapper\` (bench/mapper.ts; figures also in bench/results/mapper.json). Run on
${new Date().toISOString().slice(0, 10)}: ${RECORDS.toLocaleString('en-US')} records served by the loopback mock in its own process
(rendering each page as asked, 0 ms latency, pages of 500), read by a fresh Node process per run
(bundled JavaScript), the two modes alternated, ${RUNS} runs each after a warm-up. "list" iterates
\`client.records.list\` record by record; "rows" streams the same records through
\`client.workflows.rows\` (every form, typed values, batches of 1,000 rows) and counts the rows.

| mode | median s | min s | max s | ratio | client CPU s | server CPU s | peak RSS MB | peak heap used MB | cells | batches |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| list | ${n(list.medianSeconds)} | ${n(list.minSeconds)} | ${n(list.maxSeconds)} | 1.00x | ${n(list.medianCpuSeconds)} | ${n(list.medianServerCpuSeconds)} | ${list.maxRssMB} | ${list.peakHeapUsedMB} | — | — |
| rows | ${n(rows.medianSeconds)} | ${n(rows.minSeconds)} | ${n(rows.maxSeconds)} | ${n(ratio)}x | ${n(rows.medianCpuSeconds)} | ${n(rows.medianServerCpuSeconds)} | ${rows.maxRssMB} | ${rows.peakHeapUsedMB} | ${rows.cells.toLocaleString('en-US')} | ${rows.batches.toLocaleString('en-US')} |

"cells" counts the cells of the rows, fixed columns included. Peak RSS is the kernel's high-water
mark for the client process. The mock renders every page as it is asked, so the server's CPU
shares the two cores with the client's and both modes are bound by the two together.

| target (issue 10) | figure | met |
| --- | --- | --- |
${targets.map((t) => `| ${t.target} | ${t.figure} | ${t.met ? 'yes' : '**no**'} |`).join('\n')}
`;

await mkdir(`${BENCH_DIR}results`, { recursive: true });
await writeFile(
  `${BENCH_DIR}results/mapper.json`,
  `${JSON.stringify({ date: new Date().toISOString(), records: RECORDS, runs: RUNS, samples, list, rows, targets }, null, 2)}\n`,
);
process.stdout.write(md);
if (WRITE) replaceBenchmarkSection(`${BENCH_DIR}../BENCHMARKS.md`, 'Record mapper', md);
process.exitCode = targets.every((t) => t.met) ? 0 : 1;
