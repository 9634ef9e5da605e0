/**
 * The README shows what `npm run demo` prints at the end for the built-in 50,000-record study: its
 * Parquet files profiled in DuckDB-WASM. The study is seeded, so the profile is fixed; this test
 * makes it again the way the demo does (the study mapped to rows, the Parquet sink's files, loaded
 * in name order with loadParquet, profiled) and holds the README to it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoStudy } from '../../../src/cli/demo.js';
import { profileLines } from '../../../src/cli/profile.js';
import { openStudyDatabase, profileStudy } from '../../../src/plugins/duckdb/index.js';
import { memoryDirectory } from '../../../src/plugins/sinks/directory.js';
import { exportRows } from '../../../src/plugins/sinks/export.js';
import { parquetSink } from '../../../src/plugins/sinks/parquet.js';
import { mapRecords, planTables } from '../../../src/plugins/workflows/index.js';
import { createFakeStudy } from '../../../src/testing/index.js';
import { ROOT } from '../../runtimes/host/paths.js';
import { sdkRecords, structureOf } from '../../support/fake-structure.js';

/** The lines of the README's text block under "The demo study's profile", after its two heading lines. */
async function readmeProfile(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split("### The demo study's profile")[1] ?? '';
  const block = /```text\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const lines = block.trimEnd().split('\n');
  expect(lines[0]).toBe('Profile of demo-output/parquet in DuckDB-WASM (imednet/plugins/duckdb)');
  expect(lines[1]).toMatch(/^ {2}50,000 rows in 10 files: DuckDB started, loaded and profiled in [\d.]+ s$/);
  return lines.slice(2);
}

describe("the README's profile of the demo study", () => {
  it('is what the demo prints for its 50,000 records', async () => {
    const study = createFakeStudy(demoStudy(50_000));
    const structure = structureOf(study);
    const out = memoryDirectory();
    await exportRows(
      mapRecords(sdkRecords([...study.records]), structure, { batchSize: 5000 }),
      parquetSink({ directory: out }),
      { studyKey: 'DEMO', tables: planTables(structure) },
    );
    await using db = openStudyDatabase();
    const names = out.names().filter((name) => name.endsWith('.parquet'));
    expect(names).toHaveLength(10);
    const loaded = await db.loadParquet(names.map((name) => ({ name, data: out.bytes(name)! })));
    expect(loaded.rows).toBe(50_000);
    const profile = await profileStudy(db, { topValues: 0 });
    expect(await readmeProfile()).toEqual(profileLines(profile));
  }, 180_000);
});
