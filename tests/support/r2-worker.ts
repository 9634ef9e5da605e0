/**
 * A Cloudflare Worker for tests/unit/sinks/r2.test.ts, bundled from src by esbuild and run in
 * workerd through miniflare: it exports a seeded fake study (mapped in the Worker, no API needed)
 * to its R2 binding `BUCKET` through `r2Directory`, and answers the export's summary as JSON.
 *
 * `GET /?format=parquet|ndjson|wide&prefix=<p>&records=<n>&seed=<s>`: `wide` exports 3,000 rows of
 * 4 KiB (12 MiB of NDJSON) with 5 MiB parts, so the upload is multipart; `failAfter=<n>` stops the
 * export after n batches (an interruption), answering 500 with the error's message.
 */
import { exportRows } from '../../src/plugins/sinks/export.js';
import { ndjsonSink } from '../../src/plugins/sinks/json.js';
import { parquetSink } from '../../src/plugins/sinks/parquet.js';
import { type R2BucketLike, r2Directory } from '../../src/plugins/sinks/r2.js';
import type { ExportSink } from '../../src/plugins/sinks/types.js';
import { mapRecords } from '../../src/plugins/workflows/mapper.js';
import { planTables, type RowBatch, type TableSpec } from '../../src/plugins/workflows/tables.js';
import { createFakeStudy } from '../../src/testing/study.js';
import { sdkRecords, structureOf } from './fake-structure.js';

/** The wide table of the multipart export, and its rows (the test builds the same). */
export const WIDE: TableSpec = {
  name: 'WIDE',
  columns: [
    { name: 'recordId', type: 'integer', kind: 'record' },
    { name: 'notes', type: 'text', kind: 'variable' },
  ],
} as unknown as TableSpec;
export const wideRows = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    recordId: from + i,
    notes: `${from + i}:${'abcdefghij'.repeat(410)}`,
  }));

/** Stops after `n` batches, like a Worker that ran out of time. */
function failingAfter(sink: ExportSink, n: number): ExportSink {
  let written = 0;
  return {
    kind: sink.kind,
    manifest: sink.manifest,
    open: (context) => sink.open(context),
    async writeBatch(batch, id, canonical) {
      if (++written > n) throw new Error('interrupted on purpose');
      return sink.writeBatch(batch, id, canonical);
    },
    flush: () => sink.flush(),
    close: () => sink.close(),
    abort: (reason) => sink.abort(reason),
  };
}

export default {
  async fetch(request: Request, env: { BUCKET: R2BucketLike }): Promise<Response> {
    const query = new URL(request.url).searchParams;
    const format = query.get('format') ?? 'ndjson';
    const prefix = query.get('prefix') ?? '';
    const failAfter = query.get('failAfter');
    try {
      let sink: ExportSink;
      let batches: AsyncIterable<RowBatch>;
      let tables: TableSpec[];
      if (format === 'wide') {
        sink = ndjsonSink({ directory: r2Directory(env.BUCKET, { prefix, partSize: 5 * 1024 * 1024 }) });
        tables = [WIDE];
        batches = (async function* () {
          for (let n = 0; n < 30; n++)
            yield { table: WIDE, rows: wideRows(n * 100, 100) } as unknown as RowBatch;
        })();
      } else {
        const study = createFakeStudy({
          studyKey: 'DEMO',
          records: Number(query.get('records') ?? 800),
          seed: Number(query.get('seed') ?? 3),
        });
        const structure = structureOf(study);
        tables = planTables(structure);
        const directory = r2Directory(env.BUCKET, { prefix, name: 'BUCKET' });
        sink =
          format === 'parquet'
            ? parquetSink({
                directory,
                layout: query.get('layout') === 'hive' ? 'hive' : 'file-per-table',
                rowsPerFile: 150,
              })
            : ndjsonSink({ directory });
        batches = mapRecords(sdkRecords([...study.records]), structure, { batchSize: 100 });
      }
      if (failAfter) sink = failingAfter(sink, Number(failAfter));
      const summary = await exportRows(batches, sink, {
        studyKey: 'DEMO',
        tables,
        retryDelay: 0,
        retries: 0,
        checkpointEvery: 2,
      });
      return Response.json(summary);
    } catch (error) {
      return new Response((error as Error).message, { status: 500 });
    }
  },
};
