import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { parquetReadObjects } from 'hyparquet';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportConfigurationError } from '../../../src/plugins/sinks/errors.js';
import { r2Directory } from '../../../src/plugins/sinks/r2.js';
import { mapRecords } from '../../../src/plugins/workflows/mapper.js';
import { planTables, type Row } from '../../../src/plugins/workflows/tables.js';
import { createFakeStudy } from '../../../src/testing/study.js';
import { TARGETS } from '../../runtimes/host/bundles.js';
import { DEFAULT_COMPATIBILITY_DATE } from '../../runtimes/host/workerd.js';
import { sdkRecords, structureOf } from '../../support/fake-structure.js';
import { bucketKeys, type ListableBucket } from '../../support/r2-keys.js';
import { wideRows } from '../../support/r2-worker.js';

/** What the test uses of the bucket, as miniflare hands it to Node. */
interface TestBucket extends ListableBucket {
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  head(key: string): Promise<{ etag: string } | null>;
}
const bucket = async () => (await mf.getR2Bucket('BUCKET')) as unknown as TestBucket;

const ROOT = join(import.meta.dirname, '../../..');
let mf: Miniflare;

beforeAll(async () => {
  // Bundled the way wrangler bundles a Worker: esbuild with workerd's conditions, no Node builtins.
  const bundle = await esbuild.build({
    entryPoints: [join(ROOT, 'tests/support/r2-worker.ts')],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    ...TARGETS.workerd,
    logLevel: 'silent',
  });
  mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0]!.text,
    r2Buckets: ['BUCKET'],
    compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
  });
}, 60_000);
afterAll(async () => {
  await mf?.dispose();
});

/** Asks the Worker to export; resolves to its status and answer. */
async function run(query: string) {
  const response = await mf.dispatchFetch(`http://worker.local/?${query}`);
  const body = await response.text();
  return { status: response.status, body };
}

/** The keys under `prefix` in the bucket, read from outside the Worker. */
async function keys(prefix: string): Promise<string[]> {
  return bucketKeys(await bucket(), prefix);
}
async function bytes(key: string): Promise<Uint8Array | undefined> {
  const object = await (await bucket()).get(key);
  return object ? new Uint8Array(await object.arrayBuffer()) : undefined;
}
const text = async (key: string) => {
  const b = await bytes(key);
  return b && new TextDecoder().decode(b);
};

// The same study the Worker exports, mapped here: what the bucket must hold.
const study = createFakeStudy({ studyKey: 'DEMO', records: 800, seed: 3 });
const structure = structureOf(study);
const tables = planTables(structure);
const expected = new Map<string, Row[]>();
for await (const batch of mapRecords(sdkRecords([...study.records]), structure, { batchSize: 100 })) {
  expected.set(batch.table.name, [...(expected.get(batch.table.name) ?? []), ...batch.rows]);
}
const plain = (row: Row) => JSON.parse(JSON.stringify(row)) as Record<string, unknown>;

describe('r2Directory: a Worker in workerd exports to its R2 binding', () => {
  it('NDJSON: one object per form under the prefix, every row as mapped', async () => {
    const answer = await run('format=ndjson&prefix=nd/DEMO');
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body).rows).toBe(study.records.length);
    expect(await keys('nd/')).toEqual(
      [...tables.map((t) => `nd/DEMO/${t.name}.ndjson`), 'nd/DEMO/.imednet-export.json'].sort(),
    );
    for (const table of tables) {
      const lines = (await text(`nd/DEMO/${table.name}.ndjson`))!.split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.map((l) => JSON.parse(l))).toEqual((expected.get(table.name) ?? []).map(plain));
    }
    const manifest = JSON.parse((await text('nd/DEMO/.imednet-export.json'))!);
    expect(manifest.completedAt).toEqual(expect.any(String));
  });

  it('Parquet, a file per table: hyparquet reads back every form, row counts and sampled values', async () => {
    const answer = await run('format=parquet&prefix=pq');
    expect(answer.status, answer.body).toBe(200);
    for (const table of tables) {
      const b = (await bytes(`pq/${table.name}.parquet`))!;
      const file = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      const got = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
      const rows = expected.get(table.name) ?? [];
      expect(got.length).toBe(rows.length);
      expect(got.map((r) => Number(r.recordId))).toEqual(rows.map((r) => r.recordId));
      for (const i of [0, Math.floor(rows.length / 2), rows.length - 1].filter(
        (n) => n >= 0 && n < rows.length,
      )) {
        for (const column of table.columns) {
          const mapped = rows[i]![column.name] ?? null;
          const value = got[i]![column.name];
          if (mapped === null) expect(value ?? null).toBeNull();
          else if (mapped instanceof Date) expect((value as Date).getTime()).toBe(mapped.getTime());
          else if (typeof value === 'bigint') expect(Number(value)).toBe(mapped);
          else expect(value).toBe(mapped);
        }
      }
    }
  });

  it('an interrupted Hive Parquet export in the Worker resumes: no unfinished object, every record once', async () => {
    const first = await run('format=parquet&layout=hive&prefix=hv&failAfter=7');
    expect(first.status).toBe(500);
    expect(first.body).toContain('interrupted on purpose');
    // What the interruption left is only finished parts: each object is a whole Parquet file.
    const left = await keys('hv/');
    expect(left.some((k) => k.endsWith('.parquet'))).toBe(true);
    for (const key of left.filter((k) => k.endsWith('.parquet'))) {
      const b = (await bytes(key))!;
      const file = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      await expect(parquetReadObjects({ file, columns: ['recordId'] })).resolves.toBeDefined();
    }
    const second = await run('format=parquet&layout=hive&prefix=hv');
    expect(second.status, second.body).toBe(200);
    const summary = JSON.parse(second.body);
    expect(summary.resumed).toBe(true);
    expect(summary.skippedBatches).toBeGreaterThan(0);
    expect(summary.rows + summary.skippedRows).toBe(study.records.length);
    const ids: number[] = [];
    for (const key of await keys('hv/')) {
      if (!key.endsWith('.parquet')) continue;
      const b = (await bytes(key))!;
      const file = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      const rows = (await parquetReadObjects({ file, columns: ['recordId'] })) as Array<{
        recordId: unknown;
      }>;
      ids.push(...rows.map((r) => Number(r.recordId)));
    }
    expect(ids.sort((a, b) => a - b)).toEqual([...study.records].map((r) => r.recordId));
  });

  it('a 12 MiB file goes up as a multipart upload of 5 MiB parts and reads back whole', async () => {
    const answer = await run('format=wide&prefix=wide');
    expect(answer.status, answer.body).toBe(200);
    const object = await (await bucket()).head('wide/WIDE.ndjson');
    // R2 gives a multipart object an ETag ending in -<parts>.
    expect(object?.etag).toMatch(/-3$/);
    const lines = (await text('wide/WIDE.ndjson'))!.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual(wideRows(0, 3000));
  });

  it('refuses what is not an R2 binding, and parts under 5 MiB', () => {
    expect(() => r2Directory({} as never)).toThrow(ExportConfigurationError);
    expect(() => r2Directory({} as never)).toThrow(/R2 bucket binding/);
    const binding = Object.fromEntries(
      ['get', 'head', 'put', 'delete', 'createMultipartUpload', 'resumeMultipartUpload'].map((m) => [
        m,
        () => {},
      ]),
    );
    expect(() => r2Directory(binding as never, { partSize: 1024 * 1024 })).toThrow(/at least 5 MiB/);
    expect(() => r2Directory(binding as never, { prefix: '../up' })).toThrow(/prefix/);
  });
});
