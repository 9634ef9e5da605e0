/**
 * Bronze/silver history against the mock API: record revisions appended to `record_revisions`
 * (incrementally, never doubled) and `records_current` rebuilt from them alone, equal to the
 * records listing before and after the study is changed every way the mock allows. One database
 * for the whole file: DuckDB-WASM takes seconds to start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiDate } from '../../../src/core/dates.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { createRecord, registerSubject } from '../../../src/endpoints/records.js';
import {
  compareWithListing,
  type HistoryLoadSummary,
  loadHistory,
  openStudyDatabase,
  type StudyDatabase,
} from '../../../src/plugins/duckdb/index.js';
import { parseTimestamp } from '../../../src/testing/time.js';
import { useMockApi } from '../support.js';

const mock = useMockApi({ studyKey: 'HIST', records: 400, subjects: 20, sites: 3 });
const { api, study } = mock;
const client = () => mock.client();

let db: StudyDatabase;
let first: HistoryLoadSummary;
const timings: string[] = [];

/** The revision listings the mock answered since the last reset, with their filters. */
const revisionRequests = () =>
  api.requests
    .filter((r) => r.method === 'GET' && r.path.endsWith('/recordRevisions'))
    .map((r) => new URLSearchParams(r.search).get('filter'));

const bronze = async () =>
  (
    await db.query<{ n: number; ids: number; max: number }>(
      'SELECT count(*) AS n, count(DISTINCT "recordRevisionId") AS ids, max("recordRevisionId") AS max FROM record_revisions',
    )
  )[0];

const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  try {
    return await work();
  } finally {
    timings.push(`${label} ${Math.round(performance.now() - t0)} ms`);
  }
};

/** Moves the study clock on, so each change has its own second. */
const tick = () => study.setNow(parseTimestamp(study.now()) + 1000);

beforeAll(async () => {
  db = openStudyDatabase();
  await timed('start', () => db.start());
  first = await timed('first load', () => loadHistory(db, client(), 'HIST', { pageSize: 250 }));
}, 90_000);

afterAll(async () => {
  await db?.close();
  console.log(`duckdb history: ${timings.join('; ')}`);
});

describe('loadHistory, first load', () => {
  it('stores every revision of the study once in record_revisions', async () => {
    const total = study.counts.recordRevisions;
    expect(total).toBeGreaterThan(400);
    expect(first).toMatchObject({
      schema: 'main',
      after: null,
      fetched: total,
      appended: total,
      revisions: total,
    });
    expect(first.lastRevisionId).toBe(total);
    expect(await bronze()).toEqual({ n: total, ids: total, max: total });
  });

  it('keeps each revision as the API sent it, its dateCreated a timestamp', async () => {
    const types = await db.query<{ column_name: string; column_type: string }>('DESCRIBE record_revisions');
    expect(types.filter((c) => c.column_type === 'TIMESTAMP').map((c) => c.column_name)).toEqual([
      'dateCreated',
      'loadedAt',
    ]);
    const sample = [1, 2, 137, study.counts.recordRevisions];
    const rows = await db.query<Record<string, unknown>>(
      `SELECT * EXCLUDE ("loadedAt") FROM record_revisions WHERE "recordRevisionId" IN (${sample.join(',')}) ORDER BY "recordRevisionId"`,
    );
    expect(rows).toEqual(
      sample.map((id) => {
        const revision = study.recordRevisions.at(id - 1)!;
        return { ...revision, dateCreated: parseApiDate(revision.dateCreated) };
      }),
    );
  });

  it('rebuilds records_current equal to the records listing, soft-deleted records included as deleted', async () => {
    const check = await compareWithListing(db, client(), 'HIST');
    expect(check).toMatchObject({ equal: true, listed: 400, current: 400, missing: [], unexpected: [] });
    expect(check.hardDeleted).toEqual([]);
    expect(check.differences).toEqual([]);
    const deleted = [...study.records].filter((r) => r.deleted).map((r) => r.recordId);
    expect(deleted.length).toBeGreaterThan(0);
    const silverDeleted = await db.query<{ recordId: number }>(
      'SELECT "recordId" FROM records_current WHERE deleted ORDER BY "recordId"',
    );
    expect(silverDeleted.map((r) => r.recordId)).toEqual(deleted);
  });

  it('counts the revisions behind each record in records_current', async () => {
    const [row] = await db.query<{ n: number; records: number }>(
      'SELECT sum(revisions) AS n, count(*) AS records FROM records_current',
    );
    expect(row).toEqual({ n: study.counts.recordRevisions, records: 400 });
  });
});

describe('loadHistory, incremental', () => {
  it('fetches nothing more when nothing changed', async () => {
    const total = study.counts.recordRevisions;
    const again = await loadHistory(db, client(), 'HIST');
    expect(again).toMatchObject({ after: total, fetched: 0, appended: 0, revisions: total });
    expect(revisionRequests()).toEqual([`recordRevisionId>${total}`]);
  });

  it('after every kind of change, fetches only the new revisions and silver equals the new listing', async () => {
    const before = study.counts.recordRevisions;
    const subject = study.subjects[0]!;
    const form = study.forms.find((f) => f.formKey !== undefined)!;
    const live = [...study.records].filter((r) => !r.deleted);
    const [a, b, c, d, e, f] = live.map((r) => r.recordId);
    tick();
    study.updateRecord(a!, { recordStatus: 'Record Verified', recordData: { NOTE: 'checked' } });
    tick();
    study.updateRecord(a!, { recordData: { NOTE: 'checked twice' } }); // twice in a row
    tick();
    study.updateRecord(b!, { siteId: study.sites[2]!.siteId, subjectKey: 'MOVED-1' }); // moved, no data change
    tick();
    study.deleteRecord(c!); // soft
    tick();
    study.deleteRecord(d!);
    tick();
    study.updateRecord(d!, { deleted: false }); // and restored
    tick();
    study.deleteRecord(e!, { hard: true });
    const added = study.addRecord({ formKey: form.formKey, subjectId: subject.subjectId, recordData: {} });
    tick();
    const addedThenGone = study.addRecord({ formKey: form.formKey, subjectId: subject.subjectId });
    tick();
    study.deleteRecord(addedThenGone.recordId, { hard: true });
    tick();
    study.deleteRecord(f!); // soft, then hard
    tick();
    study.deleteRecord(f!, { hard: true });
    // Writes through the API: a registration (a new subject and its record) and a created record.
    const posted = await client().records.create('HIST', [
      registerSubject({ formKey: form.formKey, siteName: study.sites[1]!.siteName!, data: { X: 1 } }),
      createRecord({ formKey: form.formKey, subjectKey: subject.subjectKey!, data: { X: 2 } }),
    ]);
    await client().jobs.wait('HIST', posted.batchId, { interval: 1 });
    const made = study.counts.recordRevisions - before;
    expect(made).toBe(14);
    api.reset();

    const next = await timed('incremental load', () => loadHistory(db, client(), 'HIST'));
    expect(next).toMatchObject({ after: before, fetched: made, appended: made, revisions: before + made });
    expect(revisionRequests()).toEqual([`recordRevisionId>${before}`]);
    expect(await bronze()).toEqual({ n: before + made, ids: before + made, max: before + made });

    const check = await compareWithListing(db, client(), 'HIST');
    expect(check.differences).toEqual([]);
    expect(check.missing).toEqual([]);
    expect(check.unexpected).toEqual([]);
    expect(check.hardDeleted).toEqual([e, f, addedThenGone.recordId].sort((x, y) => x! - y!));
    expect(check.equal).toBe(true);
    expect(check.listed).toBe(study.counts.records);
    expect(check.current).toBe(study.counts.records + 3);

    const rows = await db.query<{
      recordId: number;
      deleted: boolean;
      recordStatus: string;
      revisions: number;
    }>(
      `SELECT "recordId", deleted, "recordStatus", revisions FROM records_current WHERE "recordId" IN (${[a, c, d, added.recordId].join(',')}) ORDER BY "recordId"`,
    );
    expect(rows.map((r) => [r.recordId, r.deleted])).toEqual([
      [a, false],
      [c, true],
      [d, false],
      [added.recordId, false],
    ]);
    expect(rows[0]?.recordStatus).toBe('Record Verified');
    expect(rows[3]?.revisions).toBe(1);
  });

  it('keeps earlier revisions as they were: bronze only grows', async () => {
    const revisions = await db.query<{ recordId: number; n: number; latest: number }>(
      'SELECT "recordId", count(*) AS n, max("recordRevision") AS latest FROM record_revisions GROUP BY "recordId" HAVING count(*) <> max("recordRevision")',
    );
    // Every record's revisions 1..n are all there, the old ones beside the new.
    expect(revisions).toEqual([]);
    // Each row says when it was stored: the first load's rows kept their time.
    const loads = await db.query<{ at: Date; n: number }>(
      'SELECT "loadedAt" AS at, count(*) AS n FROM record_revisions GROUP BY 1 ORDER BY 1',
    );
    expect(loads.map((l) => l.n)).toEqual([first.revisions, 14]);
    expect(Math.abs(Date.now() - (loads[1]?.at.getTime() ?? 0))).toBeLessThan(60_000);
  });

  it('re-reading history from the start stores nothing twice', async () => {
    const total = study.counts.recordRevisions;
    api.reset();
    const again = await loadHistory(db, client(), 'HIST', { after: 0 });
    expect(again).toMatchObject({ after: 0, fetched: total, appended: 0, revisions: total });
    expect(await bronze()).toEqual({ n: total, ids: total, max: total });
  });

  it('runs concurrent loads one after the other, the second fetching only what the first did not', async () => {
    const before = study.counts.recordRevisions;
    tick();
    study.updateRecord(study.records.at(10)!.recordId, { recordStatus: 'Record Complete' });
    const [one, two] = await Promise.all([
      loadHistory(db, client(), 'HIST'),
      loadHistory(db, client(), 'HIST'),
    ]);
    expect([one.appended, two.appended]).toEqual([1, 0]);
    expect(two.after).toBe(before + 1);
    expect(await bronze()).toMatchObject({ n: before + 1, ids: before + 1 });
  });
});

describe('compareWithListing', () => {
  it('reports what silver has not caught up with', async () => {
    const id = study.records.at(20)!.recordId;
    tick();
    study.updateRecord(id, { recordStatus: 'Record Locked' });
    const stale = await compareWithListing(db, client(), 'HIST');
    expect(stale.equal).toBe(false);
    expect(stale.differences.map((d) => [d.recordId, d.field])).toEqual([
      [id, 'recordStatus'],
      [id, 'dateModified'],
    ]);
    await loadHistory(db, client(), 'HIST');
    expect((await compareWithListing(db, client(), 'HIST')).equal).toBe(true);
  });
});

describe('options', () => {
  it('keeps bronze and silver in the schema given', async () => {
    const summary = await loadHistory(db, client(), 'HIST', { schema: 'history', batchSize: 300 });
    expect(summary).toMatchObject({ schema: 'history', after: null, appended: study.counts.recordRevisions });
    expect((await compareWithListing(db, client(), 'HIST', { schema: 'history' })).equal).toBe(true);
    const tables = await db.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'history' ORDER BY 1",
    );
    expect(tables.map((t) => t.name)).toEqual(['record_revisions', 'records_current']);
  });

  it('refuses bad options before fetching anything', async () => {
    api.reset();
    await expect(loadHistory(db, client(), '')).rejects.toBeInstanceOf(ConfigurationError);
    await expect(loadHistory(db, client(), 'HIST', { after: 1.5 })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(loadHistory(db, client(), 'HIST', { batchSize: 0 })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(loadHistory(db, client(), 'HIST', { schema: '' })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    expect(revisionRequests()).toEqual([]);
  });

  it('leaves bronze as it was when the load is aborted', async () => {
    const before = await bronze();
    tick();
    study.updateRecord(study.records.at(30)!.recordId, { recordStatus: 'Record Complete' });
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(loadHistory(db, client(), 'HIST', { signal: controller.signal })).rejects.toThrow();
    expect(await bronze()).toEqual(before);
    expect((await loadHistory(db, client(), 'HIST')).appended).toBe(1);
  });
});
