/**
 * The runtime suite: the packed package in Node (ESM and CJS), Deno, Bun, workerd and Chromium,
 * imported by URL from a local CDN in Chromium and Deno, plus package, bundle, size and example
 * checks. Needs a built dist/ (run after `tsup`). Prints the matrix; exits 1 on any failure.
 *
 *   npx tsx scripts/runtimes.ts                      everything
 *   npx tsx scripts/runtimes.ts --only size --write-benchmarks   refresh BENCHMARKS.md "## Bundle size"
 *
 * `--only` takes a comma list of: runtimes, packages, bundles, size, examples, cli.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { type Backend, startBackend } from '../tests/runtimes/host/backend.js';
import { type Browser, launchChromium } from '../tests/runtimes/host/browser.js';
import {
  type EntrySize,
  guardRootEntry,
  measureEntry,
  ROOT_GZIP_BUDGET,
} from '../tests/runtimes/host/bundles.js';
import { type Cdn, startCdn } from '../tests/runtimes/host/cdn.js';
import { cliChecks } from '../tests/runtimes/host/cli.js';
import {
  browserCdnExample,
  bunExample,
  denoExample,
  nodeExample,
  nodeProfileExample,
  nodeSyncExample,
  nodeWorkflowsExample,
  workerExample,
} from '../tests/runtimes/host/examples.js';
import { type NodeBinary, nodeBinaries } from '../tests/runtimes/host/node-versions.js';
import {
  attw,
  type CheckOutcome,
  nodeExports,
  publint,
  typeFixtures,
} from '../tests/runtimes/host/package-checks.js';
import { ROOT, SUITE_DIR, WORK_DIR } from '../tests/runtimes/host/paths.js';
import {
  fillTemplate,
  installFixture,
  npmInstall,
  type Packed,
  pack,
  writeSuites,
} from '../tests/runtimes/host/prepare.js';
import { pool } from '../tests/runtimes/host/proc.js';
import {
  BUN,
  bundleBrowserFixture,
  DENO,
  denoArgs,
  type FixtureReport,
  pageQuery,
  type RuntimeOutcome,
  runPageFixture,
  runProcessFixture,
  runWorkerFixture,
  startPageServer,
} from '../tests/runtimes/host/runtimes.js';
import { RUNTIMES, type RuntimeName } from '../tests/runtimes/suites.js';
import { replaceBenchmarkSection } from '../tests/support/benchmarks-file.js';

const GROUPS = ['runtimes', 'packages', 'bundles', 'size', 'examples', 'cli'] as const;
type Group = (typeof GROUPS)[number];

const argv = process.argv.slice(2);
const onlyArg = argv.find((a) => a.startsWith('--only'));
const onlyValue = onlyArg?.includes('=')
  ? onlyArg.split('=')[1]
  : onlyArg
    ? argv[argv.indexOf(onlyArg) + 1]
    : undefined;
const only = new Set((onlyValue?.split(',') ?? GROUPS) as Group[]);
const writeBenchmarks = argv.includes('--write-benchmarks');
const wants = (group: Group) => only.has(group);

const log = (line = '') => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

/** Where each runtime's fixture comes from. */
const TEMPLATE: Record<RuntimeName, string> = {
  'node-esm': 'node-esm',
  'node-cjs': 'node-cjs',
  deno: 'deno',
  bun: 'bun',
  workerd: 'workerd',
  chromium: 'chromium',
  'cdn-chromium': 'cdn',
  'cdn-deno': 'cdn',
};

async function main(): Promise<number> {
  const started = Date.now();
  if (!existsSync(`${ROOT}/dist/index.js`)) throw new Error('dist/ is missing: build first (npx tsup)');
  await mkdir(WORK_DIR, { recursive: true });

  log('== runtime suite: packing and installing the fixtures');
  const packed = await pack();
  const needsBrowser = wants('runtimes') || wants('examples');
  const browserLaunch: Promise<Browser | Error> | undefined = needsBrowser
    ? launchChromium().catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
    : undefined;

  const nodesLaunch =
    wants('runtimes') || wants('packages') || wants('cli') ? nodeBinaries() : Promise.resolve([]);
  const fixtureRuntimes = wants('runtimes') ? [...RUNTIMES] : [];
  const installs: { key: string; template: string; shared?: string[] }[] = fixtureRuntimes.map((runtime) => ({
    key: runtime,
    template: TEMPLATE[runtime],
  }));
  // The node-esm fixture also serves the package checks, and cdn-chromium the CDN.
  const ensure = (key: RuntimeName) => {
    if (!installs.some((i) => i.key === key)) installs.push({ key, template: TEMPLATE[key] });
  };
  if (wants('packages') || wants('bundles') || wants('size')) ensure('node-esm');
  if (wants('examples')) ensure('cdn-chromium');
  if (wants('packages')) installs.push({ key: 'types', template: `${SUITE_DIR}/.type-fixtures`, shared: [] });
  const dirs = new Map<string, string>();
  await pool(installs, 3, async ({ key, template, shared }) => {
    dirs.set(key, await installFixture(template, key, shared));
  });
  const esmFixture = dirs.get('node-esm');
  if (esmFixture && wants('packages')) {
    // imednet/testing/msw is msw glue and needs msw itself, a pure-JS optional peer. The native
    // peers (better-sqlite3) stay out: their entries must import without them and load them lazily.
    const pkg = JSON.parse(await readFile(`${ROOT}/package.json`, 'utf8')) as {
      peerDependencies?: Record<string, string>;
    };
    await npmInstall(esmFixture, [`msw@${pkg.peerDependencies?.msw ?? 'latest'}`]);
  }
  log(
    `   packed ${packed.name}@${packed.version}, installed ${installs.length} fixtures in ${WORK_DIR} (${seconds(Date.now() - started)})`,
  );

  let cdn: Cdn | undefined;
  const cdnDir = dirs.get('cdn-chromium');
  if (cdnDir) cdn = await startCdn(cdnDir);
  const browserOrError = browserLaunch ? await browserLaunch : undefined;
  const nodes = await nodesLaunch;
  const browser = browserOrError instanceof Error ? undefined : browserOrError;

  const outcomes: RuntimeOutcome[] = [];
  const checks: { section: string; outcome: CheckOutcome }[] = [];
  let sizes: EntrySize[] = [];
  try {
    if (wants('runtimes')) {
      log('== runtimes: the same cases in every runtime');
      const runtimeStarted = Date.now();
      await prepareRuntimes(dirs, packed, cdn);
      const tasks = fixtureRuntimes.flatMap((runtime): RuntimeTask[] => {
        const dir = dirs.get(runtime) as string;
        if (runtime !== 'node-esm' && runtime !== 'node-cjs') return [{ runtime, label: runtime, dir }];
        return nodes.map((node) => ({ runtime, label: `${runtime}${node.label}`, dir, node }));
      });
      const results = await pool(tasks, 4, (task) => runRuntime(task, browserOrError, cdn));
      outcomes.push(...results);
      log(`   ${results.length} rows in ${seconds(Date.now() - runtimeStarted)}`);
    }

    const esmDir = dirs.get('node-esm') as string;
    const tasks: Promise<void>[] = [];
    if (wants('packages')) {
      tasks.push(
        (async () => {
          const results = await Promise.all([
            publint(packed.tarball),
            attw(packed.tarball),
            ...nodes.map((node) =>
              nodeExports(esmDir, node.path, `node${node.label || ` ${process.version}`} (${node.role})`),
            ),
            typeFixtures(dirs.get('types') as string),
          ]);
          for (const r of results.flat()) checks.push({ section: 'package', outcome: r });
        })(),
      );
    }
    if (wants('bundles')) {
      tasks.push(
        (async () => {
          for (const target of ['browser', 'workerd'] as const) {
            const t0 = Date.now();
            const result = await guardRootEntry(esmDir, target);
            const allowed = result.allowed.length
              ? `; dependency probes allowed: ${result.allowed.join(', ')}`
              : '';
            checks.push({
              section: 'bundle',
              outcome: {
                name: `${target} bundle of the root entry`,
                ok: result.problems.length === 0,
                detail: result.problems.length
                  ? result.problems.join('\n')
                  : `clean, ${result.exports} exports${allowed}`,
                ms: Date.now() - t0,
              },
            });
          }
        })(),
      );
    }
    if (wants('size')) {
      tasks.push(
        (async () => {
          const t0 = Date.now();
          const measured = await measureAll(esmDir);
          sizes = measured.flatMap((m) => ('error' in m ? [] : [m]));
          for (const m of measured) {
            if ('error' in m) {
              checks.push({
                section: 'size',
                outcome: { name: `size of ${m.entry}`, ok: false, detail: m.error, ms: 0 },
              });
            }
          }
          const root = sizes.find((s) => s.entry === 'imednet');
          checks.push({
            section: 'size',
            outcome: {
              name: `root entry under ${kb(ROOT_GZIP_BUDGET)} gzip`,
              ok: root !== undefined && root.gzip <= ROOT_GZIP_BUDGET,
              detail: root ? `${kb(root.gzip)} gzip (${kb(root.minified)} minified)` : 'not measured',
              ms: Date.now() - t0,
            },
          });
          if (writeBenchmarks) await writeBundleSizeSection(sizes, packed);
        })(),
      );
    }
    await Promise.all(tasks);

    if (wants('examples')) {
      log('== examples');
      const subjects = 50;
      const exampleChecks = await pool(
        [
          (b: Backend) => nodeExample(packed.tarball, b, subjects),
          (b: Backend) => nodeSyncExample(packed.tarball, b),
          (b: Backend) => nodeWorkflowsExample(packed.tarball, b),
          (b: Backend) => nodeProfileExample(packed.tarball, b),
          (b: Backend) => denoExample(packed.tarball, b, subjects),
          (b: Backend) => bunExample(packed.tarball, b),
          (b: Backend) => workerExample(packed.tarball, b, subjects),
          (b: Backend) =>
            browser && cdn
              ? browserCdnExample(browser, cdn, b, subjects)
              : Promise.resolve({
                  name: 'examples/browser-cdn',
                  ok: false,
                  detail: `Chromium did not start: ${String(browserOrError)}`,
                  ms: 0,
                }),
        ],
        2,
        async (task) => withBackend({}, task),
      );
      for (const outcome of exampleChecks) checks.push({ section: 'examples', outcome });
    }
    if (wants('cli')) {
      log('== cli: the installed command on every Node, npx, bunx and Deno');
      const cliOutcomes = await withBackend({}, (b) => cliChecks(packed.tarball, b, nodes));
      for (const outcome of cliOutcomes) checks.push({ section: 'cli', outcome });
    }
  } finally {
    await browser?.close();
    await cdn?.close();
  }

  // Everything, per case, for whoever needs more than the summary.
  await writeFile(`${WORK_DIR}/results.json`, JSON.stringify({ outcomes, checks, sizes }, null, 2));
  log(`\n   per-case results: ${WORK_DIR}/results.json`);
  return printSummary(outcomes, checks, sizes, Date.now() - started);
}

async function withBackend<T>(
  options: { cors?: boolean },
  body: (backend: Backend) => Promise<T>,
): Promise<T> {
  const backend = await startBackend(options);
  try {
    return await body(backend);
  } finally {
    await backend.close();
  }
}

/** One row of the matrix: a runtime, and for the Node fixtures the Node binary. */
interface RuntimeTask {
  runtime: RuntimeName;
  label: string;
  dir: string;
  node?: NodeBinary;
}

/** Writes each fixture's generated suites (and fills the CDN templates, bundles the page) once. */
async function prepareRuntimes(
  dirs: Map<string, string>,
  packed: Packed,
  cdn: Cdn | undefined,
): Promise<void> {
  const cdnEntry = cdn ? `${cdn.url}/${packed.name}@${packed.version}` : '';
  const cdnLoader = {
    kind: 'url' as const,
    url: (spec: string) => `${cdnEntry}${spec.slice(packed.name.length)}`,
  };
  for (const runtime of RUNTIMES) {
    const dir = dirs.get(runtime);
    if (!dir) continue;
    if (runtime === 'cdn-chromium' || runtime === 'cdn-deno') {
      if (!cdn) continue;
      await writeSuites(dir, runtime, cdnLoader);
      await fillTemplate(`${dir}/${runtime === 'cdn-deno' ? 'deno.mjs' : 'index.html'}`, {
        CDN_ENTRY: cdnEntry,
      });
    } else {
      await writeSuites(dir, runtime, { kind: runtime === 'node-cjs' ? 'cjs' : 'esm' });
    }
    // The Node storage suite uses better-sqlite3, a native module: the repository's build is linked
    // in rather than compiled again for each fixture.
    if (runtime === 'node-esm' || runtime === 'node-cjs') {
      await symlink(`${ROOT}/node_modules/better-sqlite3`, `${dir}/node_modules/better-sqlite3`, 'dir').catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        },
      );
    }
  }
  const browserDir = dirs.get('chromium');
  if (browserDir) await bundleBrowserFixture(browserDir);
}

/** Runs one row's fixture against a fresh mock; never throws. */
async function runRuntime(
  task: RuntimeTask,
  browser: Browser | Error | undefined,
  cdn: Cdn | undefined,
): Promise<RuntimeOutcome> {
  const { runtime, label, dir } = task;
  const t0 = Date.now();
  const needBrowser = (): Browser => {
    if (!browser || browser instanceof Error) throw browser ?? new Error('no browser');
    return browser;
  };
  try {
    const report = await withBackend({}, async (backend): Promise<FixtureReport> => {
      const node = task.node?.path ?? process.execPath;
      switch (runtime) {
        case 'node-esm':
          return runProcessFixture(node, ['main.mjs'], dir, backend.env());
        case 'node-cjs':
          return runProcessFixture(node, ['main.cjs'], dir, backend.env());
        case 'deno':
          return runProcessFixture(DENO, denoArgs('main.mjs'), dir, backend.env());
        case 'bun':
          return runProcessFixture(BUN, ['main.mjs'], dir, backend.env());
        case 'workerd':
          return runWorkerFixture(dir, backend);
        case 'chromium':
        case 'cdn-chromium': {
          const page = needBrowser();
          if (runtime === 'cdn-chromium' && !cdn) throw new Error('no CDN');
          const server = await startPageServer(dir, backend);
          try {
            return await runPageFixture(page, `${server.url}/index.html?${pageQuery(backend, server.url)}`);
          } finally {
            await server.close();
          }
        }
        case 'cdn-deno':
          if (!cdn) throw new Error('no CDN');
          return runProcessFixture(DENO, denoArgs('deno.mjs', new URL(cdn.url).host), dir, backend.env());
      }
    });
    return { runtime, label, report, ms: Date.now() - t0 };
  } catch (error) {
    return {
      runtime,
      label,
      error: error instanceof Error ? error.message : String(error),
      ms: Date.now() - t0,
    };
  }
}

/** Root entry with everything bundled; each subpath entry with its peers and Node builtins left out. */
async function measureAll(cwd: string): Promise<(EntrySize | { entry: string; error: string })[]> {
  const pkg = JSON.parse(await readFile(`${cwd}/node_modules/imednet/package.json`, 'utf8')) as {
    exports: Record<string, unknown>;
    peerDependencies?: Record<string, string>;
  };
  const peers = Object.keys(pkg.peerDependencies ?? {});
  const entries = Object.keys(pkg.exports)
    .filter((key) => !key.endsWith('.json'))
    .map((key) => (key === '.' ? 'imednet' : `imednet/${key.slice(2)}`));
  return pool(entries, 2, (entry) =>
    measureEntry(cwd, entry, peers).catch((error: unknown) => ({
      entry,
      error: `could not bundle: ${error instanceof Error ? error.message : String(error)}`,
    })),
  );
}

/** Rewrites the "## Bundle size" section of BENCHMARKS.md (and only it). */
async function writeBundleSizeSection(sizes: EntrySize[], packed: Packed): Promise<void> {
  const file = `${ROOT}/BENCHMARKS.md`;
  const rows = sizes.map((s) => {
    const inputs = s.byPackage
      .slice(0, 3)
      .map(([p, b]) => `${p} ${kb(b)}`)
      .join(', ');
    return `| \`${s.entry}\` | ${kb(s.minified)} | ${kb(s.gzip)} | ${inputs} |`;
  });
  const externals = [...new Set(sizes.flatMap((s) => s.external))];
  const section = [
    '## Bundle size',
    '',
    `${packed.name}@${packed.version}: each \`exports\` entry bundled on its own for browsers by esbuild from`,
    'the packed tarball, minified (ES2022, ESM) and gzipped at level 9. The root entry includes the client,',
    `every endpoint and schema, ky and valibot; the runtime suite fails above ${kb(ROOT_GZIP_BUDGET)} gzip for it,`,
    'and fails if it can reach DuckDB, apache-arrow, idb or a SQLite driver. Subpath entries include what',
    `they import from ky and valibot and leave the optional peers (${externals.join(', ') || 'none'}) and Node`,
    'builtins external. Refresh with `npm run bench:size`.',
    '',
    '| entry | minified | gzip | largest inputs, before minifying |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
  replaceBenchmarkSection(file, 'Bundle size', section);
  log('   BENCHMARKS.md: "## Bundle size" updated');
}

function printSummary(
  outcomes: RuntimeOutcome[],
  checks: { section: string; outcome: CheckOutcome }[],
  sizes: EntrySize[],
  ms: number,
): number {
  let failures = 0;
  if (outcomes.length > 0) {
    log('\n== runtime matrix: cases passed');
    log(`   ${'runtime'.padEnd(16)} ${'passed'.padEnd(8)} ${'time'.padEnd(7)} version`);
    for (const o of outcomes) {
      const r = o.report;
      const ok = r !== undefined && r.total > 0 && r.failed === 0;
      if (!ok) failures++;
      const cell = r ? `${r.passed}/${r.total}` : '0/?';
      log(`   ${o.label.padEnd(16)} ${cell.padEnd(8)} ${seconds(o.ms).padEnd(7)} ${r?.version ?? ''}`);
      if (o.error) log(`      could not start: ${o.error.split('\n').join('\n      ')}`);
      for (const c of r?.results ?? []) if (!c.ok) log(`      FAILED ${c.name}: ${c.error}`);
      if (r && r.total === 0) log('      ran no cases');
    }
  }
  if (sizes.length > 0) {
    log('\n== bundle size (esbuild, minified, gzip -9)');
    const width = Math.max(...sizes.map((s) => s.entry.length));
    for (const s of sizes) {
      log(`   ${s.entry.padEnd(width)} ${kb(s.minified).padStart(9)} ${kb(s.gzip).padStart(9)} gzip`);
    }
  }
  let section = '';
  const order = ['package', 'bundle', 'size', 'examples', 'cli'];
  const sorted = [...checks].sort((a, b) => order.indexOf(a.section) - order.indexOf(b.section));
  for (const { section: name, outcome } of sorted) {
    if (name !== section) {
      section = name;
      log(`\n== ${name} checks`);
    }
    if (!outcome.ok) failures++;
    const detail = outcome.detail.split('\n');
    log(`   ${outcome.ok ? 'pass' : 'FAIL'} ${outcome.name} (${seconds(outcome.ms)}): ${detail[0]}`);
    for (const line of detail.slice(1)) log(`      ${line}`);
  }
  const passed = outcomes.reduce((n, o) => n + (o.report?.passed ?? 0), 0);
  const total = outcomes.reduce((n, o) => n + (o.report?.total ?? 0), 0);
  log(
    `\n== runtime suite: ${outcomes.length} rows, ${passed}/${total} cases, ` +
      `${checks.filter((c) => c.outcome.ok).length}/${checks.length} checks, ${seconds(ms)}` +
      (failures ? ` — ${failures} FAILED` : ''),
  );
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
