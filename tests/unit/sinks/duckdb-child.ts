/**
 * A child process for the DuckDB sink's tests: exports a fake study into one database file twice,
 * one sink after the other (schemas `first` and `second`), as `imednet export A B --to duckdb`
 * does, then exits; the test reads the file after the process has gone. Usage:
 *   node --import tsx duckdb-child.ts <path> <studyKey> <records> <subjects> <sites>
 */
import { duckdbSink } from '../../../src/plugins/sinks/duckdb.js';
import { exportRows } from '../../../src/plugins/sinks/export.js';
import { mapRecords, planTables } from '../../../src/plugins/workflows/index.js';
import { createFakeStudy } from '../../../src/testing/index.js';
import { sdkRecords, structureOf } from '../../support/fake-structure.js';

const [path, studyKey, records, subjects, sites] = process.argv.slice(2);
const study = createFakeStudy({
  studyKey: studyKey!,
  records: Number(records),
  subjects: Number(subjects),
  sites: Number(sites),
});
const structure = structureOf(study);
const tables = planTables(structure);
for (const schema of ['first', 'second']) {
  const batches = mapRecords(sdkRecords([...study.records]), structure, { batchSize: 100 });
  await exportRows(batches, duckdbSink({ path: path!, schema }), { studyKey: study.studyKey, tables });
}
