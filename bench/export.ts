/**
 * bench/export: a 1M-record study from the loopback mock (bench/server.ts, its own process,
 * rendering each page as asked) exported through the record mapper to CSV, NDJSON, Parquet and
 * Excel files and a DuckDB database file, beside a plain listing of the same records. Target
 * (issue 11): peak RSS at most 300 MB for CSV, NDJSON and Parquet.
 * Each client runs in a fresh process (bench/export-client.ts bundled by esbuild), the modes
 * alternated, medians of `--runs` runs.
 *
 *   npm run bench:export                        # prints a table, writes bench/results/export.json
 *   npm run bench:export -- --write-benchmarks  # also rewrites the "## Export" section of BENCHMARKS.md
 *   npm run bench:export -- --records 200000 --runs 1 --modes list,parquet
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceBenchmarkSection } from '../tests/support/benchmarks-file.js';
import { flag, numberOption, option } from './args.js';
import { bundleClient, runClientProcess } from './clients.js';
import { BENCH_DIR, median, min, startServerProcess } from './lib.js';

const RECORDS = numberOption('records', 1_000_000);
const RUNS = numberOption('runs', 3);
const WRITE = flag('write-benchmarks');
const RSS_TARGET_MB = 300;
const ALL_MODES = ['list', 'csv', 'ndjson', 'parquet', 'xlsx', 'duckdb'] as const;
type Mode = (typeof ALL_MODES)[number];
/** `--modes list,parquet`: a subset, in that order (default all). */
const MODES = (option('modes')?.split(',') ?? [...ALL_MODES]) as Mode[];
for (const mode of MODES) if (!ALL_MODES.includes(mode)) throw new Error(`--modes: unknown mode ${mode}`);

interface Sample {
  mode: Mode;
  records: number;
  bytes: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMB: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const script = await bundleClient('export-client.ts');
const server = await startServerProcess({ records: RECORDS, latencyMs: 0 });
log(`mock server pid ${server.pid}, ${RECORDS} records; ${RUNS} runs per mode after one warm-up each`);
const PARQUET_OPTIONS = ['row-group-size', 'max-buffered-rows'] as const;
const samples: Sample[] = [];
const run = async (mode: Mode) => {
  const out = mkdtempSync(join(tmpdir(), `imednet-bench-export-${mode}-`));
  try {
    return await runClientProcess<Sample>(
      script,
      [
        '--url',
        server.url,
        '--study',
        server.studyKey,
        '--records',
        String(RECORDS),
        '--mode',
        mode,
        '--out',
        out,
        // Parquet's buffering, when asked (the sink's defaults otherwise).
        ...PARQUET_OPTIONS.flatMap((name) => {
          const value = option(name);
          return value === undefined ? [] : [`--${name}`, value];
        }),
      ],
      `the ${mode} client`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
};
try {
  for (const mode of MODES) await run(mode);
  for (let round = 0; round < RUNS; round++) {
    // Rotate the order every round so that no mode always runs after the same one.
    const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
    for (const mode of order) {
      const sample = await run(mode);
      samples.push(sample);
      log(
        `  ${mode}: ${sample.seconds.toFixed(2)} s, max RSS ${sample.maxRssMB} MB, ${(sample.bytes / 2 ** 20).toFixed(0)} MB written`,
      );
    }
  }
} finally {
  await server.stop();
}

const rows = MODES.map((mode) => {
  const s = samples.filter((x) => x.mode === mode);
  return {
    mode,
    medianSeconds: median(s.map((x) => x.seconds)),
    minSeconds: min(s.map((x) => x.seconds)),
    maxSeconds: Math.max(...s.map((x) => x.seconds)),
    medianCpuSeconds: median(s.map((x) => x.cpuSeconds)),
    maxRssMB: Math.max(...s.map((x) => x.maxRssMB)),
    bytes: s[0]?.bytes ?? 0,
  };
});
const list = rows.find((r) => r.mode === 'list');
const n = (x: number) => x.toFixed(2);
const TARGET_MODES: readonly Mode[] = ['csv', 'ndjson', 'parquet'];
const worst = Math.max(0, ...rows.filter((r) => TARGET_MODES.includes(r.mode)).map((r) => r.maxRssMB));
const md = `## Export

\`npm run bench:export\` (bench/export.ts; figures also in bench/results/export.json). Run on
${new Date().toISOString().slice(0, 10)}: ${RECORDS.toLocaleString('en-US')} records served by the loopback mock in its own process
(rendering each page as asked, 0 ms latency, pages of 500), exported by a fresh Node process per
run (bundled JavaScript) with \`exportStudy\` (every form, typed rows in batches of 1,000, a
checkpoint every 10 batches) into a temporary directory; the modes alternated, ${RUNS} runs each after a
warm-up. "list" iterates \`client.records.list\` and writes nothing.

| mode | median s | min s | max s | ratio to list | client CPU s | peak RSS MB | written MB |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map((r) => `| ${r.mode} | ${n(r.medianSeconds)} | ${n(r.minSeconds)} | ${n(r.maxSeconds)} | ${list ? `${n(r.medianSeconds / list.medianSeconds)}x` : '—'} | ${n(r.medianCpuSeconds)} | ${r.maxRssMB} | ${r.mode === 'list' ? '—' : (r.bytes / 2 ** 20).toFixed(0)} |`).join('\n')}

| target (issue 11) | figure | met |
| --- | --- | --- |
| peak RSS at most ${RSS_TARGET_MB} MB (CSV, NDJSON, Parquet) | ${worst} MB | ${worst <= RSS_TARGET_MB ? 'yes' : '**no**'} |
`;
await mkdir(`${BENCH_DIR}results`, { recursive: true });
await writeFile(
  `${BENCH_DIR}results/export.json`,
  `${JSON.stringify({ date: new Date().toISOString(), records: RECORDS, runs: RUNS, samples, rows }, null, 2)}\n`,
);
process.stdout.write(md);
if (WRITE) replaceBenchmarkSection(`${BENCH_DIR}../BENCHMARKS.md`, 'Export', md);
process.exitCode = worst <= RSS_TARGET_MB ? 0 : 1;
