/**
 * examples/cloudflare-queues, end to end in workerd through miniflare: the example Worker bundled
 * as wrangler bundles it, with the bindings of its own wrangler.toml (a queue with retries and a
 * dead-letter queue, the dead-letter consumer, an R2 bucket), its secrets given as bindings, and
 * the mock iMednet API served from this process on 127.0.0.1. Four studies: two small ones (a part
 * each), one of 100,000 records (a part per form), and one whose records the keys may not read
 * (403 on every records request), which ends in the dead-letter queue while the others complete.
 * A fault drill interrupts two parts of the large study on their first delivery; their retries
 * resume from the parts' manifests. The bucket is then read from outside the Worker.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import * as esbuild from 'esbuild';
import { parquetReadObjects } from 'hyparquet';
import { Miniflare } from 'miniflare';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapRecords } from '../../../src/plugins/workflows/mapper.js';
import type { Row } from '../../../src/plugins/workflows/tables.js';
import { createFakeStudy, type MockServer, startMockServer } from '../../../src/testing/index.js';
import { guardPlugin, TARGETS } from '../../runtimes/host/bundles.js';
import { sdkRecords, structureOf } from '../../support/fake-structure.js';
import { imednetFromSource, imednetSources } from '../../support/imednet-source.js';
import { bucketKeys, type ListableBucket } from '../../support/r2-keys.js';
import { miniflareOptions, parseWranglerToml, type WranglerConfig } from '../../support/wrangler.js';

const ROOT = join(import.meta.dirname, '../../..');
const EXAMPLE = join(ROOT, 'examples/cloudflare-queues');
const RUN = '2026-01-02';
const TOKEN = 'admin-token-of-the-test';
// Keys no study value could contain by chance: the test looks for them in logs and the bucket.
const API_KEY = 'qx-api-key-7d41c09e';
const SECURITY_KEY = 'qx-security-key-2f86ab53';
const ROWS_PER_FILE = 2000;
/** The record mapper's default rows per batch. */
const BATCH = 1000;

const studies = [
  createFakeStudy({ studyKey: 'ALPHA', records: 300, subjects: 20, seed: 21 }),
  createFakeStudy({ studyKey: 'BETA', records: 2500, subjects: 60, seed: 22 }),
  createFakeStudy({ studyKey: 'BIG', records: 100_000, subjects: 1500, seed: 23 }),
  createFakeStudy({ studyKey: 'LOCKED', records: 80, subjects: 10, seed: 24 }),
];
const study = (key: string) => studies.find((s) => s.studyKey === key)!;

// The drill interrupts the large study's two largest forms halfway, on their first delivery.
const formCounts = new Map<string, number>();
for (const header of study('BIG').records.headers()) {
  formCounts.set(header.formKey, (formCounts.get(header.formKey) ?? 0) + 1);
}
const drilled = [...formCounts]
  .sort((a, b) => b[1] - a[1])
  .slice(0, 2)
  .map(([form]) => form);
const failAfterBatches = Math.max(
  3,
  Math.floor(Math.min(...drilled.map((f) => formCounts.get(f)!)) / BATCH / 2),
);

/** What the test reads of the status route's answer (src/status.ts). */
interface RunStatus {
  done: number;
  failed: number;
  pending: number;
  parts: Array<{
    studyKey: string;
    part: string;
    state: 'done' | 'failed' | 'pending';
    result?: { attempt: number; rows: number; skippedRows: number; resumed: boolean; finishedAt: string };
    failure?: { prefix: string; lastError?: { attempt: number; error: string } };
  }>;
}

/** What the test uses of the bucket, as miniflare hands it to Node. */
interface TestBucket extends ListableBucket {
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer>; text(): Promise<string> } | null>;
  put(key: string, value: string): Promise<unknown>;
}

let server: MockServer;
let mf: Miniflare;
let config: WranglerConfig;
/** Everything the Worker printed. */
let logs = '';
const bucket = async () => (await mf.getR2Bucket('EXPORTS')) as unknown as TestBucket;

beforeAll(async () => {
  server = await startMockServer({
    study: studies,
    apiKey: API_KEY,
    securityKey: SECURITY_KEY,
    faults: {
      serverError: { paths: '/studies/LOCKED/records', times: Number.POSITIVE_INFINITY, status: 403 },
    },
  });
  config = parseWranglerToml(await readFile(join(EXAMPLE, 'wrangler.toml'), 'utf8'));
  // Bundled the way wrangler bundles a Worker; `imednet` is this repository's source, and the guard
  // fails the build if anything reaches a Node builtin.
  const bundle = await esbuild.build({
    entryPoints: [join(EXAMPLE, config.main)],
    absWorkingDir: EXAMPLE,
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    ...TARGETS.workerd,
    plugins: [imednetFromSource(), guardPlugin()],
    logLevel: 'silent',
  });
  // Production waits a minute before a retry and up to 30 s to fill a dead-letter batch; here, none.
  const options = miniflareOptions(config, { retryDelay: 0, maxBatchTimeout: 1 });
  mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0]!.text,
    ...options,
    bindings: {
      ...options.bindings,
      IMEDNET_BASE_URL: server.url,
      IMEDNET_API_KEY: API_KEY,
      IMEDNET_SECURITY_KEY: SECURITY_KEY,
      ADMIN_TOKEN: TOKEN,
      ROWS_PER_FILE: String(ROWS_PER_FILE),
      // Renewed every second: the large study's parts renew theirs while they run.
      LEASE_SECONDS: '3',
      FAULT_DRILL: JSON.stringify({ failAfterBatches, parts: drilled.map((f) => `BIG/form-${f}`) }),
    },
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      for (const stream of [stdout, stderr]) {
        stream.on('data', (chunk: Buffer) => {
          logs += chunk.toString();
        });
      }
    },
  });
  await mf.ready;
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await server?.close();
});

const authorization = { authorization: `Bearer ${TOKEN}` };

async function runStatus(run: string): Promise<RunStatus> {
  const response = await mf.dispatchFetch(`http://worker.local/runs/${run}`, { headers: authorization });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET /runs/${run}: ${response.status} ${body}`);
  return JSON.parse(body) as RunStatus;
}

/** Polls the run's status until `done` (by default: no part is pending, every queue has drained). */
async function settled(
  run: string,
  done = (status: RunStatus) => status.pending === 0,
  timeoutMs = 240_000,
): Promise<RunStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await runStatus(run);
    if (done(status)) return status;
    if (Date.now() > deadline) {
      const pending = status.parts.filter((p) => p.state === 'pending').map((p) => `${p.studyKey}/${p.part}`);
      throw new Error(`run ${run} still has pending parts ${pending.join(', ')}\n${logs.slice(-4000)}`);
    }
    await sleep(500);
  }
}

async function keys(prefix: string): Promise<string[]> {
  return bucketKeys(await bucket(), prefix);
}

async function json<T>(key: string): Promise<T | undefined> {
  const object = await (await bucket()).get(key);
  return object ? (JSON.parse(await object.text()) as T) : undefined;
}

/** A value as both sides can compare it: dates as epoch ms, INT64 as numbers, absent as null. */
const plain = (value: unknown) =>
  value instanceof Date ? value.getTime() : typeof value === 'bigint' ? Number(value) : (value ?? null);

/** Each form's rows of a study as the API serves it, mapped here: what the bucket must hold. */
async function expectedRows(studyKey: string): Promise<Map<string, { columns: string[]; rows: Row[] }>> {
  const fake = study(studyKey);
  const out = new Map<string, { columns: string[]; rows: Row[] }>();
  for await (const batch of mapRecords(sdkRecords([...fake.records]), structureOf(fake))) {
    const table = out.get(batch.table.name) ?? { columns: batch.table.columns.map((c) => c.name), rows: [] };
    table.rows.push(...batch.rows);
    out.set(batch.table.name, table);
  }
  return out;
}

/** Every Parquet row of a study in a run, by form (the `form=` folder), with the files read. */
async function exportedRows(run: string, studyKey: string) {
  const files = (await keys(`exports/runs/${run}/${studyKey}/`)).filter((k) => k.endsWith('.parquet'));
  const byForm = new Map<string, Array<Record<string, unknown>>>();
  for (const key of files) {
    const match = /\/([^/]+)\/study=[^/]+\/form=([^/]+)\/part-\d+\.parquet$/.exec(key);
    if (!match) throw new Error(`unexpected object ${key}`);
    const form = decodeURIComponent(match[2]!);
    // A part's folder holds its own forms only: `all`, or the one form it is named for.
    if (match[1] !== 'all') expect(match[1], key).toBe(`form-${form}`);
    const file = await (await (await bucket()).get(key))!.arrayBuffer();
    const rows = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
    byForm.set(form, [...(byForm.get(form) ?? []), ...rows]);
  }
  return { files, byForm };
}

/** Asserts that a study's export holds each record of each form exactly once, as mapped. */
async function expectExactlyOnce(run: string, studyKey: string): Promise<number> {
  const expected = await expectedRows(studyKey);
  const { byForm } = await exportedRows(run, studyKey);
  let total = 0;
  for (const form of new Set([...expected.keys(), ...byForm.keys()])) {
    const want = expected.get(form) ?? { columns: [], rows: [] };
    const got = [...(byForm.get(form) ?? [])].sort((a, b) => Number(a.recordId) - Number(b.recordId));
    const ids = got.map((r) => Number(r.recordId));
    expect(new Set(ids).size, `${studyKey}/${form}: a record twice`).toBe(ids.length);
    expect(ids, `${studyKey}/${form}: record ids`).toEqual(want.rows.map((r) => r.recordId));
    const line = (row: Record<string, unknown>) => JSON.stringify(want.columns.map((c) => plain(row[c])));
    const differing = want.rows.findIndex((row, i) => line(row) !== line(got[i]!));
    expect(
      differing,
      differing < 0 ? '' : `${studyKey}/${form}: ${line(want.rows[differing]!)} ≠ ${line(got[differing]!)}`,
    ).toBe(-1);
    total += got.length;
  }
  expect(total).toBe(study(studyKey).records.length);
  return total;
}

describe('examples/cloudflare-queues: scale-out export on Queues and R2, in workerd', () => {
  it('type-checks as its users compile it (its tsconfig, imednet from this repository)', () => {
    const read = ts.readConfigFile(join(EXAMPLE, 'tsconfig.json'), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, EXAMPLE);
    const paths = Object.fromEntries([...imednetSources()].map(([name, file]) => [name, [file]]));
    const program = ts.createProgram(parsed.fileNames, { ...parsed.options, baseUrl: EXAMPLE, paths });
    // The example's own files: the SDK's are checked by the project's tsconfig, with its settings.
    const own = program.getSourceFiles().filter((f) => f.fileName.startsWith(`${EXAMPLE}/`));
    expect(own.length).toBeGreaterThan(5);
    const diagnostics = [
      ...program.getOptionsDiagnostics(),
      ...own.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
    ];
    const host = {
      getCanonicalFileName: (f: string) => f,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => '\n',
    };
    expect(ts.formatDiagnostics(diagnostics, host)).toBe('');
  }, 60_000);

  it('the cron tick plans the run: a part per small study, a part per form of the 100,000-record study', async () => {
    // A cron tick, as workerd's Fetcher.scheduled() delivers it (miniflare's types lack it here).
    const worker = (await mf.getWorker()) as unknown as {
      scheduled(options: { scheduledTime: Date; cron: string }): Promise<{ outcome: string }>;
    };
    const tick = await worker.scheduled({
      scheduledTime: new Date(`${RUN}T03:00:00Z`),
      cron: config.triggers?.crons?.[0] ?? '',
    });
    expect(tick.outcome, logs.slice(-2000)).toBe('ok');
    const plan = (await json<{ parts: Array<{ studyKey: string; part: string; forms?: string[] }> }>(
      `exports/runs/${RUN}/plan.json`,
    ))!;
    const bigForms = study('BIG').forms.map((f) => f.formKey);
    expect(plan.parts.map((p) => `${p.studyKey}/${p.part}`).sort()).toEqual(
      ['ALPHA/all', 'BETA/all', 'LOCKED/all', ...bigForms.map((f) => `BIG/form-${f}`)].sort(),
    );
    for (const part of plan.parts.filter((p) => p.studyKey === 'BIG')) {
      expect(part.forms).toEqual([part.part.slice('form-'.length)]);
    }
  });

  it('the queues drain: every part is done but the locked study, which the dead-letter queue recorded', async () => {
    const status = await settled(RUN);
    const failed = status.parts.filter((p) => p.state === 'failed').map((p) => `${p.studyKey}/${p.part}`);
    expect(failed, logs.slice(-4000)).toEqual(['LOCKED/all']);
    expect(status.done).toBe(status.parts.length - 1);

    const record = (await json<Record<string, unknown>>(`exports/failed/${RUN}/LOCKED/all.json`))!;
    const maxRetries = config.queues!.consumers![0]!.max_retries!;
    expect(record).toMatchObject({
      run: RUN,
      studyKey: 'LOCKED',
      part: 'all',
      prefix: `exports/runs/${RUN}/LOCKED/all`,
      lastError: { attempt: maxRetries + 1, error: expect.stringMatching(/ForbiddenError.*403/) },
    });
    expect(JSON.stringify(record)).not.toContain(API_KEY);
    expect(JSON.stringify(record)).not.toContain(SECURITY_KEY);
  }, 300_000);

  it('every record of every study and form is in R2 exactly once, as the API serves it', async () => {
    for (const key of ['ALPHA', 'BETA', 'BIG']) await expectExactlyOnce(RUN, key);
    // The large study's parts each wrote files of at most ROWS_PER_FILE rows (plus a batch).
    const { files } = await exportedRows(RUN, 'BIG');
    expect(files.length).toBeGreaterThanOrEqual(100_000 / (ROWS_PER_FILE + BATCH));
    expect(await keys(`exports/runs/${RUN}/LOCKED/all/study=`)).toEqual([]);
  }, 180_000);

  it('the parts interrupted on their first delivery resumed from their manifests on the retry', async () => {
    const status = await runStatus(RUN);
    for (const form of drilled) {
      const part = status.parts.find((p) => p.studyKey === 'BIG' && p.part === `form-${form}`)!;
      // The retry skipped exactly the rows of the files finished before the interruption.
      const finished = Math.floor((failAfterBatches * BATCH) / ROWS_PER_FILE) * ROWS_PER_FILE;
      expect(part.result, form).toMatchObject({ attempt: 2, resumed: true, skippedRows: finished });
      expect(part.result!.rows + part.result!.skippedRows).toBe(formCounts.get(form));
      expect(logs).toContain(`FAULT_DRILL interrupted BIG/form-${form} after ${failAfterBatches} batches`);
    }
    const others = status.parts.filter(
      (p) => p.state === 'done' && !drilled.some((f) => p.part === `form-${f}`),
    );
    for (const part of others) expect(part.result, part.part).toMatchObject({ attempt: 1, resumed: false });
  });

  it('every lease was renewed while its part ran and let go at its end', async () => {
    expect(logs).not.toContain("lost the part's lease");
    const leases = await keys(`exports/leases/${RUN}/`);
    expect(leases.length).toBe((await runStatus(RUN)).parts.length);
    for (const key of leases) expect(await json(key), key).toMatchObject({ expiresAt: 0 });
  });

  it('the keys appear in no log line and no object the Worker wrote', async () => {
    expect(logs).toContain('"event":"part-done"');
    expect(logs).not.toContain(API_KEY);
    expect(logs).not.toContain(SECURITY_KEY);
    for (const key of (await keys('exports/')).filter((k) => k.endsWith('.json'))) {
      const text = await (await (await bucket()).get(key))!.text();
      expect(text.includes(API_KEY) || text.includes(SECURITY_KEY), key).toBe(false);
    }
  });

  it('once the cause is fixed, producing the run again completes the failed part and rewrites nothing else', async () => {
    const before = await runStatus(RUN);
    const objects = await keys(`exports/runs/${RUN}/BIG/`);
    server.api.setFaults({});
    const response = await mf.dispatchFetch(`http://worker.local/runs?run=${RUN}`, {
      method: 'POST',
      headers: authorization,
    });
    expect(response.status, await response.clone().text()).toBe(202);
    // The locked study's old failure record counts as settled: wait until its part is done.
    const after = await settled(RUN, (status) => status.pending === 0 && status.failed === 0);
    expect(after.done).toBe(after.parts.length);
    for (const part of before.parts.filter((p) => p.state === 'done')) {
      const now = after.parts.find((p) => p.studyKey === part.studyKey && p.part === part.part)!;
      expect(now.result?.finishedAt, `${part.studyKey}/${part.part}`).toBe(part.result?.finishedAt);
    }
    expect(await keys(`exports/runs/${RUN}/BIG/`)).toEqual(objects);
    expect(await json(`exports/failed/${RUN}/LOCKED/all.json`)).toBeUndefined();
    expect(logs).toContain('"event":"part-already-complete"');
    await expectExactlyOnce(RUN, 'LOCKED');
  }, 300_000);

  it('a part another consumer holds comes back when that lease runs out, then is exported once', async () => {
    const run = 'lease-drill';
    await (await bucket()).put(
      `exports/leases/${run}/ALPHA/all.json`,
      JSON.stringify({ holder: 'another-consumer', expiresAt: Date.now() + 3000 }),
    );
    const queue = await mf.getQueueProducer('EXPORT_QUEUE');
    await queue.send({ run, studyKey: 'ALPHA', part: 'all' });
    const deadline = Date.now() + 60_000;
    const result = async () => json<{ attempt: number }>(`exports/runs/${run}/ALPHA/all/_result.json`);
    while (!(await result())) {
      if (Date.now() > deadline) throw new Error(`the part never completed\n${logs.slice(-3000)}`);
      await sleep(250);
    }
    // Waiting for the lease used up no retry: the copy sent back completed on its first delivery.
    expect((await result())?.attempt).toBe(1);
    expect(logs).toMatch(/"event":"part-busy","part":"ALPHA\/all"/);
    await expectExactlyOnce(run, 'ALPHA');
  }, 90_000);

  it('a part whose records changed since its interrupted attempt starts again, and holds each record once', async () => {
    // What an interrupted attempt leaves when a record it wrote has changed since: a manifest whose
    // first recorded batch no longer hashes the same (here made from ALPHA's complete one).
    const run = 'changed-since';
    const manifest = (await json<{
      completedAt?: string;
      batches: Array<{ batchId: string; sha256: string }>;
    }>(`exports/runs/${RUN}/ALPHA/all/.imednet-export.json`))!;
    delete manifest.completedAt;
    manifest.batches = manifest.batches.slice(0, 1).map((b) => ({ ...b, sha256: '0'.repeat(64) }));
    await (await bucket()).put(
      `exports/runs/${run}/ALPHA/all/.imednet-export.json`,
      JSON.stringify(manifest),
    );
    await (await mf.getQueueProducer('EXPORT_QUEUE')).send({ run, studyKey: 'ALPHA', part: 'all' });
    const deadline = Date.now() + 60_000;
    while (!(await json(`exports/runs/${run}/ALPHA/all/_result.json`))) {
      if (Date.now() > deadline) throw new Error(`the part never completed\n${logs.slice(-3000)}`);
      await sleep(250);
    }
    expect(logs).toMatch(
      /"event":"part-restarted","part":"ALPHA\/all","why":"ExportConfigurationError: Batch \S+ is not the one/,
    );
    await expectExactlyOnce(run, 'ALPHA');
  }, 90_000);

  it('the HTTP routes answer 404 without the admin token, and refuse a bad run id', async () => {
    const plainGet = await mf.dispatchFetch(`http://worker.local/runs/${RUN}`);
    expect(plainGet.status).toBe(404);
    const wrong = await mf.dispatchFetch(`http://worker.local/runs/${RUN}`, {
      headers: { authorization: 'Bearer not-the-token' },
    });
    expect(wrong.status).toBe(404);
    const unknown = await mf.dispatchFetch('http://worker.local/runs/1999-01-01', { headers: authorization });
    expect(unknown.status).toBe(404);
    const bad = await mf.dispatchFetch('http://worker.local/runs?run=..%2Fup', {
      method: 'POST',
      headers: authorization,
    });
    expect(bad.status).toBe(400);
  });
});
