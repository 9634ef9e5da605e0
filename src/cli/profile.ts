/**
 * The demo's last step: the Parquet files it exported, loaded into DuckDB-WASM
 * (`imednet/plugins/duckdb`) and profiled, a line per form. DuckDB-WASM, Apache Arrow and
 * hyparquet are optional packages: without them the step says what to install and the demo goes on.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../core/errors.js';
import type { ParquetFile, StudyProfile } from '../plugins/duckdb/index.js';
import { count } from './output.js';

const percent = (share: number | null) => (share === null ? '-' : `${(share * 100).toFixed(1)}%`);

/**
 * A profile as text lines: per form its records, deleted records, completeness and its least
 * filled field; then how many fields are filled in fewer than half of their form's records.
 */
export function profileLines(profile: StudyProfile): string[] {
  const rows = profile.forms.map((form) => {
    const fields = profile.fields.filter((f) => f.form === form.form && f.populationRate !== null);
    const least = fields.reduce<(typeof fields)[number] | undefined>(
      (low, f) => (low === undefined || (f.populationRate ?? 1) < (low.populationRate ?? 1) ? f : low),
      undefined,
    );
    return [
      form.form,
      count(form.records),
      count(form.deletedRecords),
      percent(form.completeness),
      least ? `${least.field} ${percent(least.populationRate)}` : '-',
    ];
  });
  const header = ['form', 'records', 'deleted', 'complete', 'least filled field'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells
      .map((cell, i) =>
        i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!),
      )
      .join('  ')
      .trimEnd()}`;
  const sparse = profile.fields.filter((f) => f.populationRate !== null && f.populationRate < 0.5);
  // Values that all fit a narrower type than the column's (a NUMBER field holding only integers).
  const narrower = profile.fields.filter(
    (f) => f.columnType !== 'choice' && f.inferredType !== null && f.inferredType !== f.columnType,
  );
  return [
    line(header),
    ...rows.map(line),
    `  ${profile.fields.length} fields: ${sparse.length} filled in fewer than half of their form's records, ` +
      `${narrower.length} holding only values of a narrower type than declared` +
      (narrower.length > 0
        ? ` (${narrower
            .slice(0, 3)
            .map((f) => `${f.form}.${f.field} ${f.declaredType ?? f.columnType} → ${f.inferredType}`)
            .join(', ')}${narrower.length > 3 ? ', ...' : ''})`
        : '') +
      '.',
  ];
}

/**
 * Loads every `.parquet` file of `folder` into DuckDB-WASM, profiles it and prints the profile;
 * answers it, or undefined when an optional package is missing (said in a line). `signal` stops it.
 */
export async function profileParquetFolder(
  folder: string,
  print: (line: string) => void,
  signal?: AbortSignal,
): Promise<StudyProfile | undefined> {
  signal?.throwIfAborted();
  print(`\nProfile of ${folder} in DuckDB-WASM (imednet/plugins/duckdb)`);
  const names = (await readdir(folder)).filter((name) => name.endsWith('.parquet')).sort();
  async function* files(): AsyncGenerator<ParquetFile> {
    for (const name of names) yield { name, data: await readFile(join(folder, name)) };
  }
  const started = performance.now();
  try {
    const { openStudyDatabase, profileStudy } = await import('../plugins/duckdb/index.js');
    await using db = openStudyDatabase();
    // Ctrl-C closes the database: whatever it was doing fails at once instead of running on.
    const stop = () => void db.close();
    signal?.addEventListener('abort', stop, { once: true });
    using _listening = { [Symbol.dispose]: () => signal?.removeEventListener('abort', stop) };
    const loaded = await db.loadParquet(files(), signal ? { signal } : {});
    const profile = await profileStudy(db, { topValues: 0 });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    print(
      `  ${count(loaded.rows)} rows in ${names.length} files: DuckDB started, loaded and profiled in ${seconds} s`,
    );
    for (const line of profileLines(profile)) print(line);
    return profile;
  } catch (error) {
    // The optional packages only: anything else is a failure of the demo.
    if (error instanceof ConfigurationError && error.message.includes('needs the')) {
      print(`  skipped: ${error.message}`);
      return undefined;
    }
    throw error;
  }
}
