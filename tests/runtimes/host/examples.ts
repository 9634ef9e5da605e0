// Runs every folder of examples/ against the mock API, so an example that rots fails the suite.
// Each runnable example is copied, given the packed tarball instead of the registry version, and
// run the way its README line says; the browser page imports from esm.sh, which is routed to the
// local CDN.
import { spawn } from 'node:child_process';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Backend } from './backend.js';
import type { Browser } from './browser.js';
import type { Cdn } from './cdn.js';
import { type CheckOutcome, check } from './package-checks.js';
import { EXAMPLES_DIR, ROOT, WORK_DIR } from './paths.js';
import { npmInstall } from './prepare.js';
import { killTree, run, runOk, tail } from './proc.js';
import { BUN, DENO } from './runtimes.js';
import { runWorker } from './workerd.js';

const EXAMPLE_TIMEOUT_MS = 120_000;

/**
 * Copies an example and points its `imednet` dependency (`file:../..`, the repository) at the
 * tarball (dev tools like wrangler are left out). Dependencies named in `fromRoot` come from the
 * repository's install (a native module such as better-sqlite3 would otherwise be compiled again).
 */
async function stage(example: string, tarball: string, fromRoot: readonly string[] = []): Promise<string> {
  const dir = `${WORK_DIR}/example-${example}`;
  await rm(dir, { recursive: true, force: true });
  // What a reader's own `npm install` left in the folder (its link to the repository) is not copied.
  const ownInstall = /[\\/](node_modules|package-lock\.json)$/;
  await cp(`${EXAMPLES_DIR}/${example}`, dir, {
    recursive: true,
    filter: (source) => !ownInstall.test(source),
  });
  const pkgPath = `${dir}/package.json`;
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8').catch(() => '{"private":true}')) as Record<
    string,
    unknown
  >;
  const linked = Object.fromEntries(fromRoot.map((name) => [name, `file:${ROOT}/node_modules/${name}`]));
  pkg.dependencies = {
    ...(pkg.dependencies as object | undefined),
    ...linked,
    imednet: `file:${tarball}`,
  };
  delete pkg.devDependencies;
  await writeFile(pkgPath, JSON.stringify(pkg, null, 2));
  // A linked package is already built: its install script must not build it again, in the repository.
  await npmInstall(dir, [], { ignoreScripts: fromRoot.length > 0 });
  return dir;
}

const expectLines = (output: string, wanted: readonly (string | RegExp)[]) => {
  const missing = wanted.filter((w) => (typeof w === 'string' ? !output.includes(w) : !w.test(output)));
  if (missing.length > 0) throw new Error(`output lacks ${missing.join(', ')}:\n${tail(output)}`);
};

/** What a user sets to run against the mock: its keys and host, and quiet tools. */
export const backendEnv = (backend: Backend) => ({
  IMEDNET_API_KEY: backend.apiKey,
  IMEDNET_SECURITY_KEY: backend.securityKey,
  IMEDNET_BASE_URL: backend.baseUrl,
  NO_COLOR: '1',
  DENO_NO_UPDATE_CHECK: '1',
  DENO_DIR: `${WORK_DIR}/deno-cache`,
});

/** The user-facing environment of the examples. */
const exampleEnv = (backend: Backend) => ({ ...process.env, ...backendEnv(backend) });

/** examples/node: `node index.mjs`. */
export function nodeExample(tarball: string, backend: Backend, subjects: number): Promise<CheckOutcome> {
  return check('examples/node', async () => {
    const dir = await stage('node', tarball);
    const { stdout } = await runOk(process.execPath, ['index.mjs'], {
      cwd: dir,
      env: exampleEnv(backend),
      timeoutMs: EXAMPLE_TIMEOUT_MS,
    });
    expectLines(stdout, [
      `DEMO subjects: ${subjects}`,
      /DEMO records: \d+/,
      'a missing subject is a NotFoundError',
    ]);
    return stdout.trim().split('\n').slice(1, 2).join('');
  });
}

/**
 * examples/node-sync: `node index.mjs DEMO cache.db` twice, with changes on the server in between;
 * the second run is incremental and leaves the cache with exactly the server's live records.
 */
export function nodeSyncExample(tarball: string, backend: Backend): Promise<CheckOutcome> {
  return check('examples/node-sync', async () => {
    const dir = await stage('node-sync', tarball, ['better-sqlite3']);
    const run = async () =>
      (
        await runOk(process.execPath, ['index.mjs', backend.studyKey, 'cache.db'], {
          cwd: dir,
          env: exampleEnv(backend),
          timeoutMs: EXAMPLE_TIMEOUT_MS,
        })
      ).stdout;
    const study = backend.mock.study;
    const live = () => [...study.records.headers()].filter((r) => r.deleted !== true).length;
    const total = study.records.length;
    const first = await run();
    expectLines(first, [
      `records: full, ${total} fetched, ${live()} stored`,
      `subjects: refresh, ${study.subjects.length} fetched`,
      new RegExp(`cached: ${live()} records in \\d+ forms, ${study.subjects.length} subjects`),
    ]);

    // The server changes: one record edited, one hard-deleted, one added.
    study.setNow(Date.parse('2030-01-01T00:00:00Z'));
    const [edited, removed] = [...study.records.headers()].filter((r) => r.deleted !== true);
    if (!edited || !removed) throw new Error('the example study has too few records');
    study.updateRecord(edited.recordId, { recordStatus: 'Record Verified' });
    study.deleteRecord(removed.recordId, { hard: true });
    study.addRecord({ formKey: edited.formKey, subjectKey: edited.subjectKey });

    const second = await run();
    expectLines(second, [
      'records watermark: 2030-01-01 00:00:00',
      new RegExp(`cached: ${live()} records in \\d+ forms`),
    ]);
    // The two changes, plus the records of the old watermark's own second (fetched again by design).
    const fetched = Number(/records: incremental, (\d+) fetched, \d+ stored, 1 deleted/.exec(second)?.[1]);
    if (!(fetched >= 2 && fetched <= 20)) {
      throw new Error(`the second run was not a small incremental sync:\n${tail(second)}`);
    }
    return `full (${total} records), then incremental: ${fetched} fetched, 1 deleted`;
  });
}

/** Counts the records of a CSV file (RFC 4180: a line break inside quotes is part of a field). */
function csvRecords(text: string): number {
  let records = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n' && !quoted) records++;
  }
  if (quoted) throw new Error('the CSV file ends inside a quoted field');
  return records;
}

/**
 * examples/node-workflows: every script of the folder against the fake study, each checked on
 * numbers worked out here from the study itself (counts per form, query states by the highest
 * sequence, the records a job added), plus the one-line error of an unknown study.
 */
export function nodeWorkflowsExample(tarball: string, backend: Backend): Promise<CheckOutcome> {
  return check('examples/node-workflows', async () => {
    const dir = await stage('node-workflows', tarball);
    const study = backend.mock.study;
    const requests = backend.mock.api.requests;
    const key = backend.studyKey;
    const node = async (script: string, ...args: string[]) =>
      (
        await runOk(process.execPath, [script, key, ...args], {
          cwd: dir,
          env: exampleEnv(backend),
          timeoutMs: EXAMPLE_TIMEOUT_MS,
        })
      ).stdout;
    const records = () => [...study.records.headers()];
    const perForm = (formKey: string) => records().filter((r) => r.formKey === formKey);
    const ran: string[] = [];

    // extract.mjs: AE records of Enrolled subjects, and the audit trail of the first one.
    const enrolled = new Set(
      study.subjects.filter((s) => s.subjectStatus === 'Enrolled').map((s) => s.subjectKey),
    );
    const ae = perForm('AE').filter((r) => r.subjectKey != null && enrolled.has(r.subjectKey));
    const firstAe = ae[0];
    if (!firstAe) throw new Error('the example study has no AE record of an Enrolled subject');
    const revisions = [...study.recordRevisions].filter((r) => r.recordId === firstAe.recordId).length;
    expectLines(await node('extract.mjs'), [
      'server filters: formKey; matched here: subjectStatus',
      `AE records of Enrolled subjects: ${ae.length} (${new Set(ae.map((r) => r.subjectKey)).size} subjects)`,
      new RegExp(`record ${firstAe.recordId}: ${revisions} revisions by \\d+ users`),
      /revisions on \d{4}-\d{2}-\d{2}: [1-9]\d*/,
    ]);
    ran.push('extract.mjs');

    // queries.mjs: states from the comment with the highest sequence.
    const states = study.queries.map((q) => {
      const comments = [...(q.queryComments ?? [])].sort((a, b) => (b.sequence ?? 0) - (a.sequence ?? 0));
      const latest = comments[0];
      if (!latest) return 'noComments';
      if (latest.closed === true) return 'closed';
      return /answered/i.test(latest.annotationStatus ?? '') ? 'answered' : 'open';
    });
    const count = (state: string) => states.filter((s) => s === state).length;
    const site = study.sites[0];
    if (!site) throw new Error('the example study has no site');
    const siteSubjects = new Set(
      study.subjects.filter((s) => s.siteId === site.siteId).map((s) => s.subjectKey),
    );
    const atSite = study.queries.filter((q) => q.subjectKey != null && siteSubjects.has(q.subjectKey));
    expectLines(await node('queries.mjs'), [
      `queries: ${study.queries.length} (open ${count('open')}, answered ${count('answered')}, ` +
        `closed ${count('closed')}, without comments ${count('noComments')})`,
      `open or answered: ${count('open') + count('answered')}`,
      `site ${site.siteName}: ${atSite.length} queries`,
    ]);
    ran.push('queries.mjs');

    // subject.mjs: the first subject listed, every one of its records placed in the tree.
    const subject = study.subjects[0];
    if (!subject) throw new Error('the example study has no subject');
    const own = records().filter((r) => r.subjectKey === subject.subjectKey).length;
    const ownQueries = study.queries.filter((q) => q.subjectKey === subject.subjectKey).length;
    const subjectOut = await node('subject.mjs');
    expectLines(subjectOut, [
      new RegExp(`subject ${subject.subjectKey} .*: \\d+ visits, ${own} records, ${ownQueries} queries`),
    ]);
    const placed = /rows in visits: (\d+), outside any visit: (\d+)/.exec(subjectOut);
    if (!placed || Number(placed[1]) + Number(placed[2]) !== own) {
      throw new Error(`subject.mjs did not place the subject's ${own} records:\n${tail(subjectOut)}`);
    }
    ran.push('subject.mjs');

    // structure.mjs: the design's counts, and the second call answered by the cache.
    const formsBefore = requests.filter((r) => r.path.endsWith('/forms')).length;
    expectLines(await node('structure.mjs'), [
      `${key}: ${study.intervals.length} intervals, ${study.forms.length} forms, ` +
        `${study.variables.length} variables, ${study.sites.length} sites`,
      'second call served from the cache: true',
      new RegExp(`tables: ${study.forms.length}; widest: \\w+`),
    ]);
    const formListings = requests.filter((r) => r.path.endsWith('/forms')).length - formsBefore;
    if (formListings !== 1) throw new Error(`structure.mjs listed the forms ${formListings} times, not once`);
    ran.push('structure.mjs');

    // rows.mjs: one CSV per form holding a header and one line per record of the form.
    const rowsOut = await node('rows.mjs', 'out');
    expectLines(rowsOut, [
      ...study.forms.map((f) => `${f.formKey}: ${perForm(f.formKey).length} rows -> out/${f.formKey}.csv`),
      `rows: ${records().length} in ${study.forms.length} files`,
    ]);
    for (const { formKey } of study.forms) {
      const csv = await readFile(`${dir}/out/${formKey}.csv`, 'utf8');
      if (
        !csv.startsWith('recordId,subjectKey,siteId,siteName,') ||
        csvRecords(csv) !== perForm(formKey).length + 1
      ) {
        throw new Error(`out/${formKey}.csv does not hold a header and ${perForm(formKey).length} rows`);
      }
    }
    ran.push('rows.mjs');

    // pipeline.mjs: the records listing in chunks of 100.
    const total = records().length;
    const complete = records().filter((r) => r.recordStatus === 'Record Complete').length;
    expectLines(await node('pipeline.mjs'), [
      `batches: ${Math.ceil(total / 100)} of up to 100 records, in order`,
      `records: ${total} (Record Complete: ${complete})`,
    ]);
    ran.push('pipeline.mjs');

    // jobs.mjs: nothing without --write; with it, three jobs polled to their end and three records more.
    const before = study.records.length;
    expectLines(await node('jobs.mjs'), ['run again with --write to do it']);
    if (study.records.length !== before) throw new Error('jobs.mjs wrote without --write');
    expectLines(await node('jobs.mjs', 'AE', '--write'), [
      'jobs started: 3',
      /jobs: 3 succeeded, 0 failed, 0 unfinished in [\d.]+ s/,
    ]);
    if (study.records.length !== before + 3) {
      throw new Error(`the study has ${study.records.length - before} new records, not 3`);
    }
    ran.push('jobs.mjs');

    // Every script of the folder ran (client.mjs is the part they share, not a script).
    const scripts = (await readdir(dir)).filter((f) => f.endsWith('.mjs') && f !== 'client.mjs').sort();
    const missed = scripts.filter((s) => !ran.includes(s));
    if (missed.length > 0) throw new Error(`not run by this check: ${missed.join(', ')}`);

    // An error is one line on stderr and exit code 1, without a stack.
    const failed = await run(process.execPath, ['extract.mjs', 'NO_SUCH_STUDY'], {
      cwd: dir,
      env: exampleEnv(backend),
      timeoutMs: EXAMPLE_TIMEOUT_MS,
    });
    const lines = failed.stderr.trim().split('\n');
    if (failed.code !== 1 || lines.length !== 1 || !lines[0]?.startsWith('NotFoundError: ')) {
      throw new Error(`an unknown study gave exit ${failed.code} and:\n${tail(failed.stderr)}`);
    }
    return `${ran.length} scripts; ${total} rows in ${study.forms.length} CSV files; 3 jobs polled`;
  });
}

/** examples/deno: `deno check` and `deno run main.ts`, the npm: import resolved from the installed tarball. */
export function denoExample(tarball: string, backend: Backend, subjects: number): Promise<CheckOutcome> {
  return check('examples/deno', async () => {
    const dir = await stage('deno', tarball);
    const options = { cwd: dir, env: exampleEnv(backend), timeoutMs: EXAMPLE_TIMEOUT_MS };
    await runOk(DENO, ['check', '--node-modules-dir=manual', 'main.ts'], options);
    const { stdout } = await runOk(
      DENO,
      ['run', '--node-modules-dir=manual', '--allow-net=127.0.0.1', '--allow-env', 'main.ts'],
      options,
    );
    expectLines(stdout, [`DEMO subjects: ${subjects} in`, 'a missing subject is a NotFoundError']);
    return 'type-checked and ran';
  });
}

/**
 * examples/node-profile: `node index.mjs DEMO`, DuckDB-WASM from the example's own install: the
 * study loaded (every record of the listing), a line per form, and a SQL question answered.
 */
export function nodeProfileExample(tarball: string, backend: Backend): Promise<CheckOutcome> {
  return check('examples/node-profile', async () => {
    const dir = await stage('node-profile', tarball);
    const { stdout } = await runOk(process.execPath, ['index.mjs', backend.studyKey], {
      cwd: dir,
      env: exampleEnv(backend),
      timeoutMs: EXAMPLE_TIMEOUT_MS,
    });
    const listed = [...backend.mock.study.records.headers()].length;
    expectLines(stdout, [
      new RegExp(`^${backend.studyKey}: ${listed} records in \\d+ tables, loaded in \\d+ ms$`, 'm'),
      /^ {2}\S+ +\d+ records, (\d+%|—) complete$/m,
      'fields filled in under half of their records:',
      / per site: .+ \d+/,
    ]);
    return `${listed} records profiled`;
  });
}

/** examples/bun: `bun index.ts`, which writes records.ndjson. */
export function bunExample(tarball: string, backend: Backend): Promise<CheckOutcome> {
  return check('examples/bun', async () => {
    const dir = await stage('bun', tarball);
    const { stdout } = await runOk(BUN, ['index.ts'], {
      cwd: dir,
      env: exampleEnv(backend),
      timeoutMs: EXAMPLE_TIMEOUT_MS,
    });
    const written = (await readFile(`${dir}/records.ndjson`, 'utf8')).trim().split('\n').length;
    expectLines(stdout, [`DEMO records: ${written} written`, 'a missing subject is a NotFoundError']);
    return `${written} records written`;
  });
}

/** Reads the few wrangler.toml keys the example uses (a flat file: `key = "value"` lines and [vars]). */
function readWranglerToml(text: string): {
  main: string;
  compatibilityDate: string;
  vars: Record<string, string>;
} {
  let section = '';
  const top: Record<string, string> = {};
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) {
      section = header[1];
      continue;
    }
    const pair = /^([\w-]+)\s*=\s*"(.*)"$/.exec(line);
    if (!pair?.[1] || pair[2] === undefined) continue;
    if (section === '') top[pair[1]] = pair[2];
    else if (section === 'vars') vars[pair[1]] = pair[2];
  }
  if (!top.main || !top.compatibility_date)
    throw new Error('wrangler.toml needs main and compatibility_date');
  return { main: top.main, compatibilityDate: top.compatibility_date, vars };
}

/** examples/cloudflare-worker: bundled from wrangler.toml's `main`, run in workerd with its vars plus the secrets. */
export function workerExample(tarball: string, backend: Backend, subjects: number): Promise<CheckOutcome> {
  return check('examples/cloudflare-worker', async () => {
    const dir = await stage('cloudflare-worker', tarball);
    const toml = readWranglerToml(await readFile(`${dir}/wrangler.toml`, 'utf8'));
    const bindings = {
      ...toml.vars,
      IMEDNET_BASE_URL: backend.baseUrl,
      IMEDNET_API_KEY: backend.apiKey,
      IMEDNET_SECURITY_KEY: backend.securityKey,
    };
    const base = { entry: toml.main, cwd: dir, bindings, compatibilityDate: toml.compatibilityDate };
    const ok = await runWorker({ ...base, path: `/studies/${backend.studyKey}/subjects` });
    const lines = ok.body.trim().split('\n');
    if (ok.status !== 200 || lines.length !== subjects) {
      throw new Error(`expected ${subjects} NDJSON lines, got status ${ok.status}: ${ok.body.slice(0, 300)}`);
    }
    const missing = await runWorker({ ...base, path: '/studies/NO_SUCH_STUDY/subjects' });
    if (missing.status !== 404) throw new Error(`an unknown study answered ${missing.status}, not 404`);
    return `${lines.length} subjects streamed; unknown study → 404`;
  });
}

/** examples/browser-cdn: `node server.mjs`, the page opened in Chromium, esm.sh served by the local CDN. */
export function browserCdnExample(
  browser: Browser,
  cdn: Cdn,
  backend: Backend,
  subjects: number,
): Promise<CheckOutcome> {
  return check('examples/browser-cdn', async () => {
    const server = spawn(process.execPath, ['server.mjs'], {
      cwd: `${EXAMPLES_DIR}/browser-cdn`,
      env: { ...exampleEnv(backend), PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`server.mjs did not start: ${out}`)), 15_000);
        server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          const match = /Listening on (\S+)/.exec(out);
          if (match?.[1]) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        server.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
        });
        server.on('exit', (code) => reject(new Error(`server.mjs exited ${code}: ${out}`)));
      });
      const { page, errors, close } = await browser.open();
      try {
        // The page imports https://esm.sh/...; answer those from the local CDN, as esm.sh would.
        await page.route('https://esm.sh/**', async (route) => {
          const { pathname, search } = new URL(route.request().url());
          const answer = await fetch(`${cdn.url}${pathname}${search}`);
          const headers = Object.fromEntries(answer.headers);
          await route.fulfill({
            status: answer.status,
            headers,
            body: Buffer.from(await answer.arrayBuffer()),
          });
        });
        await page.goto(url);
        await page.waitForFunction(() => document.body.dataset.state !== undefined, undefined, {
          timeout: 30_000,
        });
        const status = (await page.textContent('#status')) ?? '';
        const rows = await page.locator('#subjects tr').count();
        if (rows !== subjects || !status.includes(`${subjects} subjects`)) {
          throw new Error(
            `page says "${status}" with ${rows} rows${errors.length ? `; errors: ${errors.join('; ')}` : ''}`,
          );
        }

        // offline.html: the study into IndexedDB, then (after changes on the server) only the changes.
        const study = backend.mock.study;
        const live = () => [...study.records.headers()].filter((r) => r.deleted !== true).length;
        const settle = async (mode: string) => {
          await page.waitForFunction(
            (wanted) =>
              document.body.dataset.state === 'failed' ||
              (document.body.dataset.state === 'done' &&
                (document.getElementById('status')?.textContent ?? '').includes(`was ${wanted}`)),
            mode,
            { timeout: 60_000 },
          );
          const text = (await page.textContent('#status')) ?? '';
          const match = /(\d+) records cached; this sync was (\w+): (\d+) fetched, (\d+) deleted/.exec(text);
          if (!match || match[2] !== mode || Number(match[1]) !== live()) {
            throw new Error(
              `offline.html says "${text}" (server: ${live()} live records)` +
                `${errors.length ? `; errors: ${errors.join('; ')}` : ''}`,
            );
          }
          return { fetched: Number(match[3]), deleted: Number(match[4]) };
        };
        await page.goto(`${url}/offline.html`);
        const first = await settle('full');
        if ((await page.locator('#forms tr').count()) === 0) throw new Error('offline.html shows no forms');
        study.setNow(Date.parse('2031-01-01T00:00:00Z'));
        const [edited, removed] = [...study.records.headers()].filter((r) => r.deleted !== true);
        if (!edited || !removed) throw new Error('the example study has too few records');
        study.updateRecord(edited.recordId, { recordStatus: 'Record Verified' });
        study.deleteRecord(removed.recordId, { hard: true });
        await page.click('#again');
        const second = await settle('incremental');
        if (second.deleted !== 1 || second.fetched > 20) {
          throw new Error(`the second sync fetched ${second.fetched} and deleted ${second.deleted}`);
        }
        return `${status}; offline.html: full (${first.fetched} records), then incremental (${second.fetched} fetched, 1 deleted)`;
      } finally {
        await close();
      }
    } finally {
      killTree(server);
    }
  });
}
