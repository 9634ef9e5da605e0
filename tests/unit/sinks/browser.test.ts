/**
 * The file sinks in real Chromium (Debian's, through playwright-core): a page bundled from src/
 * exports a fake study to the origin private file system (the File System Access API), to streams
 * and to memory, and the files it made are read back here and compared with the same export made
 * in Node to a nodeDirectory: CSV and NDJSON byte for byte, Parquet row for row (hyparquet).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parquetReadObjects } from 'hyparquet';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { downloadBlob, fileSystemDirectory, streamDirectory } from '../../../src/plugins/sinks/browser.js';
import { csvSink } from '../../../src/plugins/sinks/csv.js';
import { ExportConfigurationError } from '../../../src/plugins/sinks/errors.js';
import { exportStudy } from '../../../src/plugins/sinks/export.js';
import { nodeDirectory } from '../../../src/plugins/sinks/node.js';
import { workflows } from '../../../src/plugins/workflows/index.js';
import {
  createFakeStudy,
  createMockApi,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
} from '../../../src/testing/index.js';
import { bundlePage, hostPage, type PageHost } from '../../support/chromium.js';
import { type ExportPlan, exportFake, type Format, tableNames } from './browser.page.js';

// localhost is a secure context, which the origin private file system requires.
const ORIGIN = 'http://localhost:4175';
const MANIFEST = '.imednet-export.json';

type Files = Record<string, Buffer>;
const decode = (files: Record<string, string>): Files =>
  Object.fromEntries(Object.entries(files).map(([name, b64]) => [name, Buffer.from(b64, 'base64')]));
const withoutManifest = (files: Files) =>
  Object.fromEntries(Object.entries(files).filter(([n]) => n !== MANIFEST));

/** Every file under a folder, by its path inside it. */
async function readTree(dir: string, prefix = ''): Promise<Files> {
  const files: Files = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(files, await readTree(path, `${prefix}${entry.name}/`));
    else files[`${prefix}${entry.name}`] = await readFile(path);
  }
  return files;
}

const parquetRows = async (bytes: Buffer) =>
  parquetReadObjects({
    file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  });

/** Files from the page equal to the Node export's: text byte for byte, Parquet read back row for row. */
async function expectSameFiles(format: Format, got: Files, expected: Files) {
  expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, bytes] of Object.entries(expected)) {
    if (format === 'parquet') expect(await parquetRows(got[name]!), name).toEqual(await parquetRows(bytes));
    else expect(got[name]!.equals(bytes), name).toBe(true);
  }
}

const temps: string[] = [];
/** The export of the fake study in Node, to a nodeDirectory: what every page export must equal. */
const reference = new Map<Format, Files>();

describe('the file sinks in real Chromium', () => {
  let host: PageHost;

  beforeAll(async () => {
    // src/testing's mock server (not used by the page) imports node:http at first use.
    const script = await bundlePage(fileURLToPath(new URL('./browser.page.ts', import.meta.url)), {
      external: ['node:*'],
    });
    host = await hostPage(script);
    for (const format of ['csv', 'ndjson', 'parquet'] as const) {
      const dir = await mkdtemp(join(tmpdir(), 'imednet-browser-ref-'));
      temps.push(dir);
      await exportFake(nodeDirectory(dir), { format });
      reference.set(format, withoutManifest(await readTree(dir)));
    }
  }, 300_000);

  afterAll(async () => {
    await host?.close();
    for (const dir of temps) await rm(dir, { recursive: true, force: true });
  });

  const open = async (): Promise<Page> => {
    const page = await host.context.newPage();
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => 'page' in globalThis);
    return page;
  };
  const call = <T>(page: Page, method: string, ...args: unknown[]) =>
    page.evaluate(([m, a]) => (globalThis as any).page[m as string](...(a as unknown[])), [
      method,
      args,
    ] as const) as Promise<T>;
  const opfs = async (page: Page, folder: string) =>
    decode(await call<Record<string, string>>(page, 'readFolder', folder));

  it.each(['csv', 'ndjson', 'parquet'] as const)(
    '%s to the origin private file system equals the same export in Node',
    async (format) => {
      const page = await open();
      const { summary } = await call<{ summary: { rows: number; resumed: boolean } }>(
        page,
        'exportToOpfs',
        `full-${format}`,
        { format },
      );
      expect(summary.rows).toBeGreaterThan(1000);
      const files = await opfs(page, `full-${format}`);
      expect(JSON.parse(files[MANIFEST]!.toString()).completedAt).toBeTypeOf('string');
      await expectSameFiles(format, withoutManifest(files), reference.get(format)!);
      if (format === 'parquet')
        expect(Object.keys(files).some((n) => n.includes('/part-2.parquet'))).toBe(true);
      await page.close();
    },
    120_000,
  );

  it.each(['csv', 'parquet'] as const)(
    '%s: an export aborted mid-way leaves no unfinished file under a final name, and a rerun ends with every record once',
    async (format) => {
      const page = await open();
      const folder = `aborted-${format}`;
      expect(await call(page, 'exportToOpfs', folder, { format, abortAfter: 25 })).toEqual({
        error: 'AbortError',
      });
      const left = withoutManifest(await opfs(page, folder));
      const expected = reference.get(format)!;
      const finished = Object.keys(left).filter((name) => !name.endsWith('.partial'));
      // CSV takes its final names only when the export closes; a Hive part when it is whole.
      if (format === 'csv') expect(finished).toEqual([]);
      else expect(finished.length).toBeGreaterThan(0);
      for (const name of finished)
        expect(await parquetRows(left[name]!)).toEqual(await parquetRows(expected[name]!));

      const rerun = await call<{ summary: { resumed: boolean; skippedBatches: number } }>(
        page,
        'exportToOpfs',
        folder,
        { format },
      );
      expect(rerun.summary.resumed).toBe(true);
      expect(rerun.summary.skippedBatches).toBeGreaterThan(0);
      await expectSameFiles(format, withoutManifest(await opfs(page, folder)), expected);
      await page.close();
    },
    120_000,
  );

  it('a tab closed in the middle of an export: a new tab resumes it from what the folder holds', async () => {
    const first = await open();
    await call(first, 'startSlowExport', 'closed-tab', { format: 'csv', hangAfter: 9 } satisfies ExportPlan);
    await first.waitForFunction(() => (globalThis as any).page.progress >= 9, undefined, {
      timeout: 60_000,
    });
    await first.close({ runBeforeUnload: false });

    const second = await open();
    const left = await opfs(second, 'closed-tab');
    const manifest = JSON.parse(left[MANIFEST]!.toString());
    expect(manifest.completedAt).toBeUndefined();
    expect(manifest.batches.length).toBeGreaterThan(0);
    expect(Object.keys(withoutManifest(left)).every((name) => name.endsWith('.csv.partial'))).toBe(true);
    // What the tab wrote after its last checkpoint stayed in the browser's swap file and went with
    // the tab: each file is exactly as long as the manifest's last batch of its table says.
    const recorded = new Map<string, number>();
    for (const entry of manifest.batches) recorded.set(entry.table, entry.state.size);
    expect(recorded.size).toBeGreaterThan(0);
    for (const [table, size] of recorded) expect(left[`${table}.csv.partial`]!.length, table).toBe(size);

    const rerun = await call<{ summary: { resumed: boolean; skippedBatches: number } }>(
      second,
      'exportToOpfs',
      'closed-tab',
      { format: 'csv' },
    );
    expect(rerun.summary.resumed).toBe(true);
    expect(rerun.summary.skippedBatches).toBe(manifest.batches.length);
    await expectSameFiles('csv', withoutManifest(await opfs(second, 'closed-tab')), reference.get('csv')!);
    await second.close();
  }, 120_000);

  it('in a browser without FileSystemFileHandle.move(), a rename is a copy and a removal: the same files', async () => {
    const page = await open();
    expect(await call(page, 'withoutMove')).toBe('undefined');
    await call(page, 'exportToOpfs', 'no-move', { format: 'parquet' });
    const files = await opfs(page, 'no-move');
    expect(Object.keys(files).some((name) => name.endsWith('.partial'))).toBe(false);
    await expectSameFiles('parquet', withoutManifest(files), reference.get('parquet')!);
    await page.close();
  }, 120_000);

  it('read(name) streams a file back as written', async () => {
    const page = await open();
    const csv = reference.get('csv')!;
    const name = Object.keys(csv)[0]!;
    // The folder of the first test, or a fresh export when this one runs alone.
    await call(page, 'exportToOpfs', 'full-csv', { format: 'csv' });
    expect(
      Buffer.from(await call<string>(page, 'readThrough', 'full-csv', name), 'base64').equals(csv[name]!),
    ).toBe(true);
    await page.close();
  }, 120_000);

  it('the manifest is replaced atomically: a write in progress or aborted leaves the old text', async () => {
    const page = await open();
    expect(await call(page, 'atomicText', 'atomic')).toEqual({
      during: '{"v":1}',
      afterAbort: '{"v":1}',
      after: '{"v":3}',
    });
    await page.close();
  }, 60_000);

  it.each(['ndjson', 'parquet'] as const)(
    '%s to a stream per file: each stream gets its file whole and is closed once finished',
    async (format) => {
      const page = await open();
      const result = await call<{ files: Record<string, string>; closed: string[]; finished: string[] }>(
        page,
        'exportToStreams',
        { format },
      );
      const expected = reference.get(format)!;
      await expectSameFiles(format, decode(result.files), expected);
      expect([...result.closed].sort()).toEqual(Object.keys(expected).sort());
      expect([...result.finished].sort()).toEqual(Object.keys(expected).sort());
      await page.close();
    },
    120_000,
  );

  it('one table to one stream (the file a save-file picker gives): the file is that table; a failed export leaves it as it was', async () => {
    const page = await open();
    // The largest table, so that the failing run stops between its batches.
    const csv = reference.get('csv')!;
    const table = tableNames().reduce((a, b) => (csv[`${a}.csv`]!.length >= csv[`${b}.csv`]!.length ? a : b));
    const done = await call<{ error?: string; file: string; finished: string[] }>(
      page,
      'exportOneTable',
      table,
      'one.csv',
      false,
    );
    expect(done.error).toBeUndefined();
    expect(done.finished).toEqual([`${table}.csv`]);
    expect(Buffer.from(done.file, 'base64').equals(csv[`${table}.csv`]!)).toBe(true);

    const failed = await call<{ error?: string; file: string; finished: string[] }>(
      page,
      'exportOneTable',
      table,
      'failed.csv',
      true,
    );
    expect(failed.error).toBe('AbortError');
    expect(failed.finished).toEqual([]);
    // The picked file is left as it was before the export (empty), not with a part of the table.
    expect(Buffer.from(failed.file, 'base64').length).toBe(0);
    await page.close();
  }, 120_000);

  it('one stream for an export of several files is refused, and the stream is aborted', async () => {
    const page = await open();
    const result = await call<{ error: string; message: string; aborted: boolean }>(
      page,
      'exportAllToOneStream',
    );
    expect(result.error).toBe('ExportConfigurationError');
    expect(result.message).toMatch(/one stream.*forms option/);
    expect(result.aborted).toBe(true);
    await page.close();
  }, 60_000);

  it("memoryDirectory's Blob is the file, and downloadBlob hands it to the user as a download of that name", async () => {
    const page = await open();
    const name = `${tableNames()[0]}.csv`;
    const [download, blob] = await Promise.all([
      page.waitForEvent('download'),
      call<{ type: string; bytes: string }>(page, 'exportToBlob', 'csv', name, 'text/csv'),
    ]);
    expect(blob.type).toBe('text/csv');
    expect(Buffer.from(blob.bytes, 'base64').equals(reference.get('csv')![name]!)).toBe(true);
    expect(download.suggestedFilename()).toBe(name);
    expect((await readFile((await download.path())!)).equals(reference.get('csv')![name]!)).toBe(true);
    await page.close();
  }, 60_000);
});

describe('the browser entry outside a browser', () => {
  it('loads in Node (no DOM at import) and refuses what it cannot use with ExportConfigurationError', async () => {
    expect(() => downloadBlob(new Blob(['x']), 'x.csv')).toThrow(ExportConfigurationError);
    expect(() => fileSystemDirectory({} as FileSystemDirectoryHandle)).toThrow(/FileSystemDirectoryHandle/);
    expect(() => streamDirectory(undefined as never)).toThrow(ExportConfigurationError);
  });

  it('a stream directory refuses to resume: what went into a stream cannot be cut back', async () => {
    const out = streamDirectory(() => new WritableStream());
    await expect(out.open('AE.csv.partial', 10)).rejects.toThrow(
      /cannot resume AE\.csv\.partial.*restart: true/,
    );
  });

  it('bundles for a browser and for a neutral platform without any Node builtin', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../../../src/plugins/sinks/browser.ts', import.meta.url))],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.endsWith('src/plugins/sinks/browser.ts'))).toBe(true);
    expect(inputs.filter((path) => path.startsWith('node:'))).toEqual([]);
  });
});

describe('examples/browser-export, as written, in real Chromium', () => {
  const EXAMPLE = fileURLToPath(new URL('../../../examples/browser-export/', import.meta.url));
  const SRC = fileURLToPath(new URL('../../../src', import.meta.url));
  const study = createFakeStudy({ studyKey: 'MYSTUDY', records: 700, subjects: 30, sites: 3, seed: 4 });
  const api = createMockApi(study);
  let host: PageHost;
  let expected: Files;

  beforeAll(async () => {
    // The example's own script, its `imednet` imports pointed at src/ instead of the built package.
    const script = await bundlePage(join(EXAMPLE, 'main.js'), {
      alias: { imednet: SRC },
      external: ['node:*'],
    });
    const page = await readFile(join(EXAMPLE, 'index.html'));
    host = await hostPage('', async (route, pathname) => {
      if (pathname === '/example/') {
        await route.fulfill({ contentType: 'text/html', body: page });
      } else if (pathname === '/example/dist/main.js') {
        await route.fulfill({ contentType: 'text/javascript', body: script });
      } else if (pathname.startsWith('/imednet/')) {
        // What the example's proxy does: the page's placeholder keys are replaced by the real ones.
        const request = route.request();
        const headers = { ...(await request.allHeaders()) };
        headers['x-api-key'] = DEFAULT_API_KEY;
        headers['x-imn-security-key'] = DEFAULT_SECURITY_KEY;
        const response = await api.handle(new Request(request.url(), { method: request.method(), headers }));
        await route.fulfill({
          status: response.status,
          headers: Object.fromEntries(response.headers),
          body: Buffer.from(await response.arrayBuffer()),
        });
      } else return false;
      return true;
    });
    // The same export in Node, through the same mock.
    const dir = await mkdtemp(join(tmpdir(), 'imednet-browser-example-'));
    temps.push(dir);
    const client = new (Imednet.plugin(workflows()))({
      apiKey: DEFAULT_API_KEY,
      securityKey: DEFAULT_SECURITY_KEY,
      baseUrl: 'http://mock.test',
      fetch: (input, init) => api.handle(new Request(input, init)),
    });
    await exportStudy(client, 'MYSTUDY', csvSink({ directory: nodeDirectory(dir) }));
    expected = withoutManifest(await readTree(dir));
  }, 300_000);

  afterAll(async () => {
    await host?.close();
    // The file-level cleanup has run by now (its describe ended first): this block's folder goes here.
    for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** The example page, with the pickers answered by the origin private file system (no user to click). */
  const open = async () => {
    const page = await host.context.newPage();
    await page.addInitScript(() => {
      const root = () => navigator.storage.getDirectory();
      Object.assign(window, {
        showDirectoryPicker: async () => (await root()).getDirectoryHandle('picked', { create: true }),
        showSaveFilePicker: async (options: { suggestedName: string }) =>
          (await root()).getFileHandle(options.suggestedName, { create: true }),
      });
    });
    await page.goto(`${ORIGIN}/example/`);
    await page.waitForFunction(() => !(document.getElementById('to-folder') as HTMLButtonElement).hidden);
    return page;
  };
  const logText = (page: Page) => page.locator('#log').textContent();
  const waitForLog = async (page: Page, lines: number) => {
    await page.waitForFunction(
      (n) => (document.getElementById('log')?.textContent ?? '').split('\n').length > n,
      lines,
      {
        timeout: 60_000,
      },
    );
    return logText(page);
  };
  /** The files of a folder of the origin private file system, by path, as base64. */
  const readPicked = (page: Page, folder: string) =>
    page.evaluate(async (name) => {
      const out: Record<string, string> = {};
      type Folder = FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };
      const walk = async (dir: FileSystemDirectoryHandle, prefix: string) => {
        for await (const [entry, handle] of (dir as Folder).entries()) {
          if (handle.kind === 'directory')
            await walk(handle as FileSystemDirectoryHandle, `${prefix}${entry}/`);
          else {
            const bytes = new Uint8Array(
              await (await (handle as FileSystemFileHandle).getFile()).arrayBuffer(),
            );
            out[`${prefix}${entry}`] = btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''));
          }
        }
      };
      await walk(
        await (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true }),
        '',
      );
      return out;
    }, folder);

  it('"Export every form to a folder" writes the CSV files of the same export in Node, and a second click finds it complete', async () => {
    const page = await open();
    await page.click('#to-folder');
    expect(await waitForLog(page, 1)).toMatch(/^Exported \d+ rows in \d+ file\(s\)/);
    await expectSameFiles('csv', withoutManifest(decode(await readPicked(page, 'picked'))), expected);
    await page.click('#to-folder');
    expect(await waitForLog(page, 2)).toMatch(/already held this export, complete/);
    await page.close();
  }, 120_000);

  it('"Save one form as a file" writes that form\'s CSV to the picked file', async () => {
    const page = await open();
    const form = study.forms[0]!.formKey;
    await page.fill('#form', form);
    await page.click('#one-form');
    expect(await waitForLog(page, 1)).toMatch(/^Exported \d+ rows in 1 file/);
    const file = await page.evaluate(async (name) => {
      const handle = await (await navigator.storage.getDirectory()).getFileHandle(name);
      return Array.from(new Uint8Array(await (await handle.getFile()).arrayBuffer()));
    }, `${form}.csv`);
    expect(Buffer.from(file).equals(expected[`${form}.csv`]!)).toBe(true);
    await page.close();
  }, 120_000);

  it('"Download every form" downloads each CSV file, named by its form', async () => {
    const page = await open();
    const downloads: Array<Promise<[string, Buffer]>> = [];
    page.on('download', (download) => {
      downloads.push(
        download.path().then(async (path) => [download.suggestedFilename(), await readFile(path)]),
      );
    });
    await page.click('#download');
    expect(await waitForLog(page, 1)).toMatch(/^Exported/);
    await expect.poll(() => downloads.length, { timeout: 30_000 }).toBe(Object.keys(expected).length);
    const got = Object.fromEntries(await Promise.all(downloads));
    await expectSameFiles('csv', got, expected);
    await page.close();
  }, 120_000);
});
