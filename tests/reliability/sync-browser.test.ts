/**
 * Two Chromium pages (tabs) of one origin sync the same study into the same IndexedDB at the same
 * time. The Web Locks API makes them take turns; both finish without an error and the cache equals
 * the server, before and after changes on the server.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeStudy, createMockApi, type FakeStudy, type MockApi } from '../../src/testing/index.js';
import { canonical } from '../support/canonical.js';
import { bundlePage, hostPage, type PageHost } from '../support/chromium.js';

// localhost is a secure context, which the Web Locks API requires; every request is answered here.
const ORIGIN = 'http://localhost:4173';

function serverDigest(study: FakeStudy) {
  let text = '';
  let live = 0;
  for (const record of study.records) {
    if (record.deleted === true) continue;
    text += `${canonical(record)}\n`;
    live++;
  }
  return { live, sha256: createHash('sha256').update(text).digest('hex') };
}

interface SyncSpan {
  modes: Record<string, string>;
  start: number;
  end: number;
}

describe('two Chromium pages on one IndexedDB', () => {
  let host: PageHost;
  let study: FakeStudy;
  let api: MockApi;

  beforeAll(async () => {
    const script = await bundlePage(fileURLToPath(new URL('./fixtures/sync-page.ts', import.meta.url)), {
      external: ['better-sqlite3', 'node:*', 'bun:*'],
    });
    study = createFakeStudy({ studyKey: 'TABS', records: 5000, subjects: 100, seed: 9 });
    api = createMockApi(study, { faults: { latencyMs: 5 } });
    // The page's API calls are answered by the mock, in this process.
    host = await hostPage(script, async (route, pathname) => {
      if (!pathname.startsWith('/api/')) return false;
      const request = route.request();
      const body = request.postDataBuffer();
      const init: RequestInit = { method: request.method(), headers: await request.allHeaders() };
      if (body) init.body = new Uint8Array(body);
      const response = await api.handle(new Request(request.url(), init));
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      await route.fulfill({
        status: response.status,
        headers,
        body: Buffer.from(await response.arrayBuffer()),
      });
      return true;
    });
  }, 900_000);

  afterAll(async () => {
    await host?.close();
  });

  const open = async (): Promise<Page> => {
    const page = await host.context.newPage();
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => 'syncNow' in globalThis);
    return page;
  };

  it('take turns through Web Locks and leave a cache equal to the server', async () => {
    const [one, two] = [await open(), await open()];
    const errors: string[] = [];
    for (const page of [one, two]) page.on('pageerror', (e) => errors.push(e.message));

    const round = async () => {
      const spans = (await Promise.all([
        one.evaluate('syncNow("TABS")'),
        two.evaluate('syncNow("TABS")'),
      ])) as SyncSpan[];
      // One page's whole sync ran before the other's began.
      const [a, b] = [...spans].sort((x, y) => x.start - y.start) as [SyncSpan, SyncSpan];
      expect(a.end).toBeLessThanOrEqual(b.start);
      return spans;
    };

    const first = await round();
    expect(first.map((s) => s.modes.records).sort()).toEqual(['full', 'incremental']);
    const expected = serverDigest(study);
    for (const page of [one, two]) {
      expect(await page.evaluate('digest("TABS")')).toEqual({ ...expected, webLocks: true });
    }

    study.setNow('2025-02-01 12:00:00');
    for (let id = 10; id <= 400; id += 13) study.updateRecord(id, { recordStatus: 'Record Verified' });
    study.deleteRecord(500);
    study.deleteRecord(501, { hard: true });
    study.addRecord({ formKey: study.forms[0]!.formKey, subjectId: 1, recordData: { A: '1' } });
    const second = await round();
    expect(second.map((s) => s.modes.records)).toEqual(['incremental', 'incremental']);
    const after = serverDigest(study);
    expect(after.sha256).not.toBe(expected.sha256);
    for (const page of [one, two]) {
      expect(await page.evaluate('digest("TABS")')).toEqual({ ...after, webLocks: true });
    }
    expect(errors).toEqual([]);
  }, 180_000);
});
