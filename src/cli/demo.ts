/**
 * `imednet demo`: the whole main job on the built-in fake study, with no credentials. It starts the
 * project's mock API on a loopback port, prints the study's structure (intervals -> forms ->
 * variables), streams every record into `demo-output/records.ndjson` with progress, counts and
 * throughput, then exports the study as `imednet export` does, to Parquet and to CSV (a file per
 * form), with progress bars on a terminal, and profiles the Parquet files in DuckDB-WASM.
 * Everything goes through the real client over real HTTP.
 */
import { join, resolve } from 'node:path';
import { Imednet } from '../client.js';
import type { StudyProfile } from '../plugins/duckdb/index.js';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY, startMockServer } from '../testing/index.js';
import { type ExportCommand, runExport } from './export.js';
import { makeDir, openForWriting } from './files.js';
import { count, writeLine } from './output.js';
import { profileParquetFolder } from './profile.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Records in the fake study (default 50,000). */
  records?: number;
  /** Simulated network latency per request in ms (default 20). */
  latencyMs?: number;
  /** Output folder (default `demo-output`). */
  outDir?: string;
  /** Stops the demo. */
  signal?: AbortSignal;
  /** Where progress goes (default stdout; the export's bars go to stderr when it is a terminal). */
  print?: (line: string) => void;
}

/** One of the demo's exports. */
export interface DemoExport {
  format: 'parquet' | 'csv';
  folder: string;
  rows: number;
  files: number;
}

/** What the demo did, for tests and callers. */
export interface DemoResult {
  records: number;
  bytes: number;
  seconds: number;
  file: string;
  requests: number;
  /** The study exported as `imednet export` does: Parquet, then CSV. */
  exports: DemoExport[];
  /** The profile of the Parquet files in DuckDB-WASM; absent when its optional packages are not installed. */
  profile?: StudyProfile;
}

/** The demo's fake study of `records` records (seeded: the same study every run). */
export function demoStudy(records: number) {
  return {
    studyKey: 'DEMO',
    records,
    subjects: Math.max(20, Math.round(records / 40)),
    sites: 8,
    seed: 2026,
  };
}

/** Runs the demo end to end. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const records = options.records ?? 50_000;
  const latencyMs = options.latencyMs ?? 20;
  const outDir = resolve(options.outDir ?? 'demo-output');
  // The output folder first: a folder that cannot be written fails before any work is done.
  await makeDir(outDir);
  const file = join(outDir, 'records.ndjson');
  const out = (await openForWriting(file)).createWriteStream();
  let server: Awaited<ReturnType<typeof startMockServer>> | undefined;
  try {
    server = await startMockServer({
      study: demoStudy(records),
      faults: { latencyMs },
    });
    print(`Mock iMednet API on ${server.url} (fake study, ${latencyMs} ms latency per request)`);
    const client = new Imednet({
      apiKey: DEFAULT_API_KEY,
      securityKey: DEFAULT_SECURITY_KEY,
      baseUrl: server.url,
    });
    const signal = options.signal;
    const opts = signal ? { signal } : {};

    const study = await client.studies.get('DEMO', opts);
    print(`\nStudy ${study.studyKey}: ${study.studyName}`);
    const [sites, subjects, intervals, forms, variables] = await Promise.all([
      client.sites.list('DEMO', opts).toArray(),
      client.subjects.list('DEMO', opts).toArray(),
      client.intervals.list('DEMO', { ...opts, sort: 'intervalSequence' }).toArray(),
      client.forms.list('DEMO', opts).toArray(),
      client.variables.list('DEMO', opts).toArray(),
    ]);
    print(
      `  ${sites.length} sites, ${count(subjects.length)} subjects, ${intervals.length} intervals, ${forms.length} forms, ${variables.length} variables`,
    );
    const variablesByForm = new Map<number, number>();
    for (const variable of variables) {
      if (variable.formId != null)
        variablesByForm.set(variable.formId, (variablesByForm.get(variable.formId) ?? 0) + 1);
    }
    print('\nStructure (interval -> forms [variables]):');
    for (const interval of intervals) {
      const scheduled = (interval.forms ?? []).map(
        (f) => `${f.formKey} [${variablesByForm.get(f.formId ?? -1) ?? 0}]`,
      );
      print(`  ${interval.intervalName}: ${scheduled.join(', ') || '(no forms)'}`);
    }

    const before = server.api.requests.length;
    const started = performance.now();
    let n = 0;
    let bytes = 0;
    let lastReport = started;
    print(`\nStreaming every record to ${file} ...`);
    try {
      for await (const page of client.records.list('DEMO', opts).pages()) {
        for (const record of page.items) {
          const line = JSON.stringify(record);
          bytes += line.length + 1;
          await writeLine(out, line);
          n++;
        }
        const now = performance.now();
        if (now - lastReport > 500 || page.page === page.totalPages - 1) {
          lastReport = now;
          const pct = page.totalElements > 0 ? Math.round((100 * n) / page.totalElements) : 100;
          print(
            `  ${count(n)} / ${count(page.totalElements)} records (${pct}%), page ${page.page + 1} of ${page.totalPages}`,
          );
        }
      }
    } finally {
      await new Promise<void>((done, fail) =>
        out.end((error?: Error | null) => (error ? fail(error) : done())),
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const requests = server.api.requests.length - before;
    print(
      `\nDone: ${count(n)} records, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s ` +
        `(${count(Math.round(n / seconds))} records/s, ${requests} requests)`,
    );

    // The main job: the study through the record mapper into files, as `imednet export` does.
    const exports: DemoExport[] = [];
    const bars = options.print === undefined && process.stderr.isTTY === true;
    const lines = (text: string) => {
      for (const line of text.replace(/\n$/, '').split('\n')) print(line);
    };
    for (const format of ['parquet', 'csv'] as const) {
      const folder = join(outDir, format);
      print(`\nimednet export DEMO --to ${format} --out ${folder}`);
      const command: ExportCommand = {
        studies: ['DEMO'],
        allStudies: false,
        exclude: [],
        to: format,
        out: folder,
        labels: false,
        layout: 'per-form',
        hive: false,
        formulaGuard: true,
        resume: false,
        // Each run of the demo starts its exports over.
        restart: true,
        progress: bars ? 'bars' : 'lines',
        concurrency: 1,
      };
      const outcome = await runExport(
        { apiKey: DEFAULT_API_KEY, securityKey: DEFAULT_SECURITY_KEY, baseUrl: server.url },
        command,
        signal ?? new AbortController().signal,
        { out: lines, err: lines, ...(bars ? { terminal: process.stderr } : {}) },
      );
      const summary = outcome.studies[0]?.summary;
      exports.push({
        format,
        folder,
        rows: summary?.rows ?? 0,
        files: summary?.tables.length ?? 0,
      });
    }
    // The local half: the Parquet files just written, profiled in DuckDB-WASM with no server.
    const parquet = exports.find((e) => e.format === 'parquet');
    const profile = parquet ? await profileParquetFolder(parquet.folder, print, signal) : undefined;
    print('\nThe files:');
    print(`  ${file}  (every record as the API gives it, NDJSON)`);
    for (const e of exports) {
      print(
        `  ${e.folder}/  (${e.files} ${e.format === 'csv' ? 'CSV' : 'Parquet'} files, one per form, ${count(e.rows)} rows)`,
      );
    }
    return { records: n, bytes, seconds, file, requests, exports, ...(profile ? { profile } : {}) };
  } finally {
    out.destroy(); // a no-op after the end above; closes the file when something failed before it
    await server?.close();
  }
}
